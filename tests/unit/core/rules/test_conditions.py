"""Every matcher and combinator, each through a tiny rules.yaml, as admins write them."""

import textwrap

import pytest

from daemon.adapters.config import load_rulebook
from daemon.core.mail.message import Attachment, make_message
from daemon.core.rules import UNCLASSIFIED, classify
from daemon.errors import ConfigError

BASE = """\
settings: {center: center}
owners:
  center: {name: Center, email: c@example.test}
  legal: {name: Legal, email: l@example.test, supervisor: center}
categories:
  official: {owner: legal, deadline: 10 calendar_days, template: ack_official, folder: O}
  complaint: {owner: center, deadline: 2 working_days, template: ack_complaint, folder: C}
  thanks: {owner: center, deadline: 5 working_days, template: ack_thanks, folder: T}
  unclassified: {owner: center, deadline: 1 working_day, template: ack_unclassified, folder: U}
negation: {before: [не, нет, "no", not, never], after: [нет], window: 3}
rules:
"""


def book_with(rules: str, tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(BASE + textwrap.indent(textwrap.dedent(rules), "  "), encoding="utf-8")
    return load_rulebook(path)


def cat(book, **fields):
    return classify(make_message(**fields), book).category


def test_words_case_yo_and_forms(tmp_path):
    book = book_with(
        """\
        - name: c
          category: complaint
          when: {words: [жалоб*, отчет]}
        """,
        tmp_path,
    )
    assert cat(book, body="Примите ЖАЛОБУ") == "complaint"
    assert cat(book, body="где мой ОТЧЁТ?") == "complaint"
    assert cat(book, body="пожалуйста") == UNCLASSIFIED


def test_words_negation_skip_and_only(tmp_path):
    book = book_with(
        """\
        - name: c
          category: complaint
          when:
            any:
              - {words: [претензи*, problem*], negation: skip}
              - {words: [работает, work*], negation: only}
        """,
        tmp_path,
    )
    assert cat(book, body="Претензий нет") == UNCLASSIFIED
    assert cat(book, body="No problems at all") == UNCLASSIFIED
    assert cat(book, body="У меня претензия") == "complaint"
    assert cat(book, body="Сайт не работает") == "complaint"
    assert cat(book, body="Сайт работает") == UNCLASSIFIED
    assert cat(book, body="It does not work") == "complaint"


def test_words_at_least_and_except(tmp_path):
    book = book_with(
        """\
        - name: t
          category: thanks
          when: {words: [thanks, great, superb], at_least: 2, except: ["thanks in advance"]}
        """,
        tmp_path,
    )
    assert cat(book, body="Thanks, great job") == "thanks"
    assert cat(book, body="Great job") == UNCLASSIFIED
    assert cat(book, body="Great question. Thanks in advance") == UNCLASSIFIED


def test_phrases_regex_equals_domains_exists(tmp_path):
    book = book_with(
        """\
        - name: phrase
          category: official
          when: {phrases: ["formal notice"]}
        - name: regex
          category: official
          when: {regex: 'исх\\.?\\s*№\\s*\\d+'}
        - name: gov
          category: official
          when: {domains: [gov.example]}
        - name: lang
          category: complaint
          when: {all: [{equals: [ru], in: language}, {exists: "header:X-Urgent"}]}
        - name: pdf
          category: thanks
          when: {regex: '\\.pdf$', in: attachment_names}
        """,
        tmp_path,
    )
    assert cat(book, body="This is a FORMAL  notice.") == "official"
    assert cat(book, body="notice, formal") == UNCLASSIFIED
    assert cat(book, body="Исх. № 145 от 01.02") == "official"
    assert cat(book, body="hi", from_addr="a@mail.gov.example") == "official"
    assert cat(book, body="hi", from_addr="a@notgov.example") == UNCLASSIFIED
    assert cat(book, body="привет", headers={"X-Urgent": ("1",)}) == "complaint"
    assert cat(book, body="hello", headers={"X-Urgent": ("1",)}) == UNCLASSIFIED
    assert (
        cat(book, body="x", attachments=(Attachment("Letter.PDF", "application/pdf", 1),))
        == "thanks"
    )


def test_all_any_not_and_reasons(tmp_path):
    book = book_with(
        """\
        - name: c
          category: complaint
          when:
            all:
              - any: [{words: [refund]}, {words: [broken]}]
              - not: {phrases: ["thank you"]}
        """,
        tmp_path,
    )
    d = classify(make_message(subject="Broken", body="send a refund"), book)
    assert (d.category, d.rule) == ("complaint", "c")
    assert d.reasons[0].matched == "refund" and d.reasons[1].matcher == "not phrases"
    assert cat(book, body="refund, thank you") == UNCLASSIFIED


def test_precedence_not_file_order_decides(tmp_path):
    book = book_with(
        """\
        - name: t
          category: thanks
          when: {words: [спасибо]}
        - name: c
          category: complaint
          when: {words: [испорч*]}
        - name: o
          category: official
          when: {words: [претензи*]}
        """,
        tmp_path,
    )
    assert classify(make_message(body="Спасибо за испорченный вечер"), book).rule == "c"
    assert classify(make_message(body="спасибо, претензия, испорчен"), book).rule == "o"


@pytest.mark.parametrize("field,value", [("subject", "subject"), ("from", "from_addr")])
def test_fields_are_separate(tmp_path, field, value):
    book = book_with(
        f"""\
        - name: c
          category: complaint
          when: {{words: [zzz], in: {field}}}
        """,
        tmp_path,
    )
    kwargs = {"subject": "x", "body": "zzz", "from_addr": "a@b.example"}
    assert cat(book, **kwargs) == UNCLASSIFIED
    kwargs[value] = "zzz" if value == "subject" else "zzz@b.example"
    assert cat(book, **kwargs) == "complaint"


LEXICONS = """\
lexicons:
  pos: [good, great, excellent, recommend*, "works great", хорош*, отличн*]
  neg: [bad, broken, problem*, terrible, "waste of", "don't buy", плох*, проблем*]
  polite: ["best regards", "good morning", "хорошего дня"]
"""


def sentiment_book(rules: str, tmp_path, lexicons: str = LEXICONS):
    path = tmp_path / "rules.yaml"
    path.write_text(
        BASE.replace("rules:\n", lexicons + "rules:\n")
        + textwrap.indent(textwrap.dedent(rules), "  "),
        encoding="utf-8",
    )
    return path


OPINION_RULES = """\
    - name: c
      category: complaint
      when: {sentiment: {lean: negative, positive: [pos], negative: [neg], neutral: [polite]}}
    - name: t
      category: thanks
      when: {sentiment: {lean: positive, positive: [pos], negative: [neg], neutral: [polite],
                         margin: 1}}
    """


def test_sentiment_counts_sides_and_negation_turns_words_around(tmp_path):
    book = load_rulebook(sentiment_book(OPINION_RULES, tmp_path))
    assert cat(book, body="Great camera, I recommend it") == "thanks"
    assert cat(book, body="Terrible. Arrived broken") == "complaint"
    assert cat(book, body="Good screen, bad battery") == UNCLASSIFIED  # +1 -1: a tie
    assert cat(book, body="Not good at all") == "complaint"  # negated positive
    assert cat(book, body="No problems in a year") == "thanks"  # negated negative
    assert cat(book, body="Не плохо, совсем не плохо") == "thanks"
    assert cat(book, body="Отличный сервис, хороший курьер") == "thanks"  # prefixes, forms
    assert cat(book, body="Where is my order?") == UNCLASSIFIED


def test_sentiment_phrases_count_once_and_neutral_formulas_hide_words(tmp_path):
    book = load_rulebook(sentiment_book(OPINION_RULES, tmp_path))
    assert cat(book, body="It works great") == "thanks"
    assert cat(book, body="A waste of money") == "complaint"
    assert cat(book, body="Don't buy it") == "complaint"  # the cue inside the phrase is its own
    assert cat(book, body="Good morning, where is my parcel? Best regards") == UNCLASSIFIED
    assert cat(book, body="Хорошего дня!") == UNCLASSIFIED
    d = classify(make_message(body="great, not bad, excellent"), book)
    assert (d.category, d.rule) == ("thanks", "t")
    assert d.reasons[0].matcher == "sentiment (positive +3)"
    assert d.reasons[0].matched == "+great, +bad, +excellent"


def test_sentiment_margin_and_guarding_a_keyword_rule(tmp_path):
    book = load_rulebook(
        sentiment_book(
            """\
        - name: c
          category: complaint
          when:
            all:
              - words: [problem*]
              - not: {sentiment: {lean: positive, positive: [pos], negative: [neg]}}
        - name: t
          category: thanks
          when: {sentiment: {lean: positive, positive: [pos], negative: [neg], margin: 2}}
        """,
            tmp_path,
        )
    )
    assert cat(book, body="A problem with the lid") == "complaint"
    assert cat(book, body="A minor problem, but great, excellent, recommended") == "thanks"
    assert cat(book, body="A problem, but great") == "complaint"  # +1 -1
    assert cat(book, body="Great") == UNCLASSIFIED  # margin 2


def test_sentiment_and_lexicon_mistakes_are_reported_with_lines(tmp_path):
    path = sentiment_book(
        """\
        - name: a
          category: complaint
          when: {sentiment: {lean: negativ, positive: [pos], negative: [nope], margin: 0}}
        - name: c
          category: thanks
          when: {sentiment: {lean: positive, positive: [pos]}, negation: skip}
        """,
        tmp_path,
        lexicons="""\
lexicons:
  pos: [good, "x*", good, bad]
  neg: [bad, "a phrase*"]
""",
    )
    with pytest.raises(ConfigError) as err:
        load_rulebook(path)
    text = str(err.value)
    lines = path.read_text(encoding="utf-8").splitlines()
    at = {i + 1: line for i, line in enumerate(lines)}
    lex_line = next(n for n, line in at.items() if line.startswith("  pos:"))
    a_line = next(n for n, line in at.items() if "lean: negativ," in line)
    c_line = next(n for n, line in at.items() if "negation: skip" in line)
    assert f"{path}:{lex_line}: 'x*' is too short a prefix" in text
    assert f"{path}:{lex_line}: lexicons.pos: 'good' is listed twice" in text
    assert f"{path}:{a_line}: sentiment needs 'lean: positive' or 'lean: negative'" in text
    assert "did you mean 'negative'?" in text
    assert f"{path}:{a_line}: sentiment.negative: no lexicon named 'nope'" in text
    assert f"{path}:{a_line}: sentiment margin must be a whole number" in text
    assert f"{path}:{c_line}: sentiment needs 'negative:'" in text
    assert "'negation' works only with words, phrases and lemmas" in text


def test_sentiment_entry_on_both_sides_or_lexicon_twice_is_refused(tmp_path):
    path = sentiment_book(
        """\
        - name: a
          category: complaint
          when: {sentiment: {lean: negative, positive: [pos], negative: [neg]}}
        - name: b
          category: thanks
          when: {sentiment: {lean: positive, positive: [pos], negative: [neg], neutral: [pos]}}
        """,
        tmp_path,
        lexicons="""\
lexicons:
  pos: [good, cheap]
  neg: [bad, cheap]
""",
    )
    with pytest.raises(ConfigError) as err:
        load_rulebook(path)
    assert "'cheap' is both positive and negative" in str(err.value)
    assert "lexicon 'pos' is named twice" in str(err.value)


def test_unknown_top_level_key_still_suggests_lexicons(tmp_path):
    path = sentiment_book(
        """\
        - name: a
          category: complaint
          when: {words: [bad]}
        """,
        tmp_path,
        lexicons="lexicon: {pos: [good]}\n",
    )
    with pytest.raises(ConfigError, match="did you mean 'lexicons'"):
        load_rulebook(path)
