"""Every matcher and combinator, each through a tiny rules.yaml, as admins write them."""

import textwrap

import pytest

from daemon.examples import make_message
from daemon.message import Attachment
from daemon.rules import UNCLASSIFIED, classify, load_rulebook

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
    book = book_with("""\
        - name: c
          category: complaint
          when: {words: [жалоб*, отчет]}
        """, tmp_path)
    assert cat(book, body="Примите ЖАЛОБУ") == "complaint"
    assert cat(book, body="где мой ОТЧЁТ?") == "complaint"
    assert cat(book, body="пожалуйста") == UNCLASSIFIED


def test_words_negation_skip_and_only(tmp_path):
    book = book_with("""\
        - name: c
          category: complaint
          when:
            any:
              - {words: [претензи*, problem*], negation: skip}
              - {words: [работает, work*], negation: only}
        """, tmp_path)
    assert cat(book, body="Претензий нет") == UNCLASSIFIED
    assert cat(book, body="No problems at all") == UNCLASSIFIED
    assert cat(book, body="У меня претензия") == "complaint"
    assert cat(book, body="Сайт не работает") == "complaint"
    assert cat(book, body="Сайт работает") == UNCLASSIFIED
    assert cat(book, body="It does not work") == "complaint"


def test_words_at_least_and_except(tmp_path):
    book = book_with("""\
        - name: t
          category: thanks
          when: {words: [thanks, great, superb], at_least: 2, except: ["thanks in advance"]}
        """, tmp_path)
    assert cat(book, body="Thanks, great job") == "thanks"
    assert cat(book, body="Great job") == UNCLASSIFIED
    assert cat(book, body="Great question. Thanks in advance") == UNCLASSIFIED


def test_phrases_regex_equals_domains_exists(tmp_path):
    book = book_with("""\
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
        """, tmp_path)
    assert cat(book, body="This is a FORMAL  notice.") == "official"
    assert cat(book, body="notice, formal") == UNCLASSIFIED
    assert cat(book, body="Исх. № 145 от 01.02") == "official"
    assert cat(book, body="hi", from_addr="a@mail.gov.example") == "official"
    assert cat(book, body="hi", from_addr="a@notgov.example") == UNCLASSIFIED
    assert cat(book, body="привет", headers={"X-Urgent": ("1",)}) == "complaint"
    assert cat(book, body="hello", headers={"X-Urgent": ("1",)}) == UNCLASSIFIED
    assert cat(book, body="x", attachments=(Attachment("Letter.PDF", "application/pdf", 1),)) \
        == "thanks"


def test_all_any_not_and_reasons(tmp_path):
    book = book_with("""\
        - name: c
          category: complaint
          when:
            all:
              - any: [{words: [refund]}, {words: [broken]}]
              - not: {phrases: ["thank you"]}
        """, tmp_path)
    d = classify(make_message(subject="Broken", body="send a refund"), book)
    assert (d.category, d.rule) == ("complaint", "c")
    assert d.reasons[0].matched == "refund" and d.reasons[1].matcher == "not phrases"
    assert cat(book, body="refund, thank you") == UNCLASSIFIED


def test_precedence_not_file_order_decides(tmp_path):
    book = book_with("""\
        - name: t
          category: thanks
          when: {words: [спасибо]}
        - name: c
          category: complaint
          when: {words: [испорч*]}
        - name: o
          category: official
          when: {words: [претензи*]}
        """, tmp_path)
    assert classify(make_message(body="Спасибо за испорченный вечер"), book).rule == "c"
    assert classify(make_message(body="спасибо, претензия, испорчен"), book).rule == "o"


@pytest.mark.parametrize("field,value", [("subject", "subject"), ("from", "from_addr")])
def test_fields_are_separate(tmp_path, field, value):
    book = book_with(f"""\
        - name: c
          category: complaint
          when: {{words: [zzz], in: {field}}}
        """, tmp_path)
    kwargs = {"subject": "x", "body": "zzz", "from_addr": "a@b.example"}
    assert cat(book, **kwargs) == UNCLASSIFIED
    kwargs[value] = "zzz" if value == "subject" else "zzz@b.example"
    assert cat(book, **kwargs) == "complaint"
