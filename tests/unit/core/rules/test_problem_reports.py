"""The shipped rules read problem reports as general classes of language (docs/rules.md, "Real
customer texts"): each case below is one class, in words written for this test, and each was
decided otherwise before its class was in rules.yaml."""

import pytest
from support import REPO

from daemon.adapters.config import load_rulebook
from daemon.core.mail.message import make_message
from daemon.core.rules import classify


@pytest.fixture(scope="module")
def book():
    return load_rulebook(REPO / "rules.yaml")


COMPLAINTS = [
    # a question that complains: "why" / "почему" to the company, "how many times", "когда уже"
    "@airline why do I have to pay for a seat I already chose",
    "Почему с карты сняли 300 рублей за смс-информирование?",
    "How many times do I have to call to change one seat?",
    "Когда уже заработает приложение?",
    # waiting measured in time
    "We have been at the gate for 2.5 hrs",
    "Мастер обещал прийти, ждём больше недели.",
    # a service or ability verb negated
    "Не удаётся пополнить счёт через приложение",
    "The e-ticket was never sent",
    # a service thing missing: "нет связи", "no wifi", "ни ответа"
    "No wifi and no power outlets on this flight",
    "На даче ни сигнала, ни интернета",
    # repetition
    "The app is down again",
    "Приложение вновь выкидывает при входе",
    # money taken without consent
    "Подключили платную услугу без моего согласия",
    "you took my money and there is no ticket in my account",
    # service failures and being fed up
    "Связь пропала в центре города",
    "Another outage of the app at check-in",
    "fed up with the app logging me out",
    # a service down, or out since a day
    "The booking site is down again this morning",
    "Интернета нет с воскресенья",
    # leaving for a competitor, advice to the company, nerves
    "Придётся сменить оператора всей семьёй",
    "Should've told us before boarding",
    "This is getting on my nerves",
    # reproach and resignation: "хорошо хоть", "как мог", "что же вы", "thanks anyway"
    "Хорошо хоть карту не потеряли",
    "Как мог оператор перевести номер на другой тариф",
    "Что же вы делаете с тарифами",
    "Thanks anyway, I'll take the bus",
    # insults of the service
    "Хрень, а не приложение",
    "Переводы с карты на карту и воровство комиссии",
    # an app or a site that fails, a promise not kept, regret
    "Приложение вылетает при оплате",
    "Сайт лежит с утра",
    "Обещали перезвонить в течение часа",
    "Увы, в отделении сказали ждать",
]


@pytest.mark.parametrize("text", COMPLAINTS)
def test_a_problem_report_in_general_words_is_a_complaint(book, text):
    decision = classify(make_message(body=text), book)
    assert decision.category == "complaint", (text, decision.rule)


NOT_THANKS = [
    "Спасибо, что хоть вы не забываете",  # thanks with a reproach
    "Получайте бонусы Спасибо от банка за каждую покупку",  # "спасибо" as a thing given
    "@best_airline_love see you tomorrow",  # a handle is no word of praise
    "Рост выручки благодаря новым тарифам",  # "благодаря" is "owing to"
    "Please send me the receipt for my trip.\n\nThanks",  # a sign-off under a request
    "Выгодные вклады для пенсионеров в отделениях банка",  # one praise word, no thanks: an advert
]


THANKS = [
    "@airline ok, the email with my booking just came. Thank you!",  # the last line thanks
    "Couldn't be more thankful to the crew today",  # a negation inside the thanks
    "Удобное приложение, отличная работа",  # Russian praise, twice, with no thanks said
]


@pytest.mark.parametrize("text", THANKS)
def test_thanks_said_briefly_or_with_a_negation_is_thanks(book, text):
    decision = classify(make_message(body=text), book)
    assert decision.category == "thanks", (text, decision.rule)


@pytest.mark.parametrize("text", NOT_THANKS)
def test_no_thank_you_is_read_where_none_is_said(book, text):
    decision = classify(make_message(body=text), book)
    assert decision.category == "unclassified", (text, decision.rule)


NOT_COMPLAINTS = [
    "How long does shipping to Dublin take?",
    "That's why I fly with you: a friendly crew every time",
    "I wouldn't give this phone up for anything",
    "The battery lasted well over 14 hours when I played music all day",
]


@pytest.mark.parametrize("text", NOT_COMPLAINTS)
def test_a_neutral_or_happy_letter_is_no_complaint(book, text):
    decision = classify(make_message(body=text), book)
    assert decision.category != "complaint", (text, decision.rule)
