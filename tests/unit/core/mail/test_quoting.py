"""What the sender wrote now, apart from quoted history and the sign-off; and the default rules
reading only that."""

import textwrap

from support import REPO

from daemon.adapters.config import load_rulebook
from daemon.core.mail.message import make_message
from daemon.core.mail.quoting import Letter, split
from daemon.core.rules import classify

DEFAULT = load_rulebook(REPO / "rules.yaml")


def test_plain_text_is_all_said():
    assert split("The parcel came broken.\nPlease help.") == Letter(
        "The parcel came broken.\nPlease help."
    )


def test_valediction_and_name_lines_are_the_closing():
    got = split("Where is my order 4411?\n\nThanks,\nHannah\n+7 900 000-00-00\n")
    assert got.said == "Where is my order 4411?"
    assert got.closing == "Thanks,\nHannah\n+7 900 000-00-00"


def test_valediction_at_the_end_of_the_last_line():
    got = split("Are you open on Easter Monday? Thanks, Beth")
    assert (got.said, got.closing) == ("Are you open on Easter Monday?", "Thanks, Beth")
    got = split("Сколько стоит доставка в Калининград? Спасибо")
    assert (got.said, got.closing) == ("Сколько стоит доставка в Калининград?", "Спасибо")


def test_thanks_that_say_what_for_are_not_a_closing():
    text = "The fix worked.\nThank you so much for your help"
    assert split(text) == Letter(text)
    text = "Курьер донёс покупки до двери.\nСпасибо ему!"
    assert split(text) == Letter(text)


def test_signature_after_dashes_and_mobile_tag():
    got = split("Заказ пришёл вовремя.\nСпасибо!\n\n--\nОтправлено с iPhone")
    assert got.said == "Заказ пришёл вовремя."
    assert got.closing.startswith("Спасибо!") and got.closing.endswith("iPhone")
    got = split("Still no refund.\n-- \nKevin | Acme Ltd")
    assert (got.said, got.closing) == ("Still no refund.", "-- \nKevin | Acme Ltd")


def test_reply_history_is_quoted():
    got = split(
        "Still broken.\n\nOn Mon, 1 Apr 2024, Support <s@example.test> wrote:\n"
        "> Thank you, we are glad to help\n> Support"
    )
    assert got.said == "Still broken."
    assert got.quoted.startswith("On Mon, 1 Apr 2024") and "glad" in got.quoted
    got = split("Опять не работает.\n\n03.05.2024 18:12, Служба поддержки пишет:\n> Спасибо!")
    assert (got.said, got.quoted.endswith("> Спасибо!")) == ("Опять не работает.", True)
    got = split("No.\n-----Original Message-----\nFrom: us\nGreat news")
    assert (got.said, got.quoted) == ("No.", "-----Original Message-----\nFrom: us\nGreat news")


def test_quote_marks_anywhere_and_forwarded_messages_stay_said():
    assert split("> you wrote this\nand I answer").said == "and I answer"
    fwd = "See below\n---------- Forwarded message ---------\nFrom: x\n> old line\nbroken again"
    assert split(fwd) == Letter(fwd)


def test_nothing_left_means_everything_is_said():
    assert split("Thanks!") == Letter("Thanks!")
    assert split("> only a quote") == Letter("> only a quote")


def test_fields_said_closing_quoted_reach_the_rules(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(
        textwrap.dedent("""\
        settings: {center: center}
        owners:
          center: {name: Center, email: c@example.test}
        categories:
          official: {owner: center, deadline: 10 calendar_days, template: ack_official, folder: O}
          complaint: {owner: center, deadline: 2 working_days, template: ack_complaint, folder: C}
          thanks: {owner: center, deadline: 5 working_days, template: ack_thanks, folder: T}
          unclassified: {owner: center, deadline: 1 working_day, template: ack_unclassified,
                         folder: U}
        precedence: [official, complaint, thanks]
        rules:
          - {name: quoted-broken, category: complaint, when: {words: [broken], in: quoted}}
          - {name: said-thanks, category: thanks, when: {words: [thanks]}}
        """),
        encoding="utf-8",
    )
    book = load_rulebook(path)
    reply = "Thanks, all good now.\n\nOn Mon, 1 Apr 2024, Ann <a@example.org> wrote:\n> broken"
    decision = classify(make_message(body=reply), book)
    assert decision.rule == "quoted-broken"
    question = classify(make_message(body="Where is it?\nThanks,\nAnn"), book)
    assert (question.category, question.rule) == ("unclassified", "(no rule matched)")


def default(body: str, subject: str = "") -> str:
    return classify(make_message(subject=subject, body=body), DEFAULT).category


def test_default_rules_do_not_read_our_quoted_acknowledgment():
    reply = (
        "Ничего не решено, курьер так и не приехал.\n\n"
        "12.03.2024 10:00, Центр обратной связи пишет:\n"
        "> Спасибо за обращение! Мы благодарны вам за отзыв."
    )
    assert default(reply, "Re: Ваше обращение") == "complaint"


def test_default_rules_polite_question_is_not_thanks():
    assert default("Hi there, are you open on Easter Monday? Thanks, Beth") == "unclassified"
    assert (
        default("Подскажите, доставляете ли вы в Калининград?\n\nСпасибо!\nОлег") == "unclassified"
    )


def test_default_rules_thank_you_letter_with_a_backstory():
    assert (
        default(
            "Думала, что с возвратом будут проблемы, а деньги пришли через два дня. "
            "Очень приятно, спасибо вам!"
        )
        == "thanks"
    )
    assert (
        default(
            "It was well below freezing and the crew worked until 4am. Please pass "
            "on a big thank you to them."
        )
        == "thanks"
    )


def test_default_rules_demand_and_sarcasm_stay_complaints():
    assert (
        default("Спасибо Дарье, она помогла. Но ваш сотрудник хамил, прошу провести с ним беседу.")
        == "complaint"
    )
    assert default("Пиццу привезли через три часа, холодную.", subject="Ну спасибо") == "complaint"
    assert default("Charged twice for March. Please sort it out.\nThanks,\nDerek") == "complaint"
