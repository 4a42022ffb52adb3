"""The `lemmas:` matcher: every form of a word by its dictionary form, checked with lines."""

import textwrap

import pytest
from unit.core.rules.test_conditions import BASE

from daemon.adapters.config import load_rulebook
from daemon.core.mail.message import make_message
from daemon.core.rules import UNCLASSIFIED, build, classify, lemmas_of
from daemon.errors import ConfigError


class TableLemmatizer:
    """A twin: a fixed table of forms, every other word its own lemma."""

    def __init__(self) -> None:
        self.table = {"работает": "работать", "работали": "работать", "пришло": "прийти"}

    def lemma(self, word: str) -> str:
        return self.table.get(word, word)


def rules(text: str) -> str:
    return BASE + textwrap.indent(textwrap.dedent(text), "  ")


NOT_WORKING = """\
- name: c
  category: complaint
  when: {lemmas: [работать, прийти], negation: only, except: ["не работали бы"]}
"""


def test_lemmas_meet_every_form_through_the_handed_in_lemmatizer():
    book = build(rules(NOT_WORKING), "rules.yaml", TableLemmatizer()).require()
    decision = classify(make_message(body="Карта не работает с утра"), book)
    assert decision.category == "complaint"
    assert decision.reasons[0].matched == "работает"  # shown as written, not as the lemma
    assert classify(make_message(body="СМС так и не пришло"), book).category == "complaint"
    assert classify(make_message(body="Карта работает"), book).category == UNCLASSIFIED
    assert classify(make_message(body="Если бы не работали бы"), book).category == UNCLASSIFIED
    assert book.lemmatizer is not None


def test_lemmas_without_a_lemmatizer_or_with_a_prefix_are_reported_with_lines():
    text = rules(NOT_WORKING + "- name: d\n  category: thanks\n  when: {lemmas: [спасиб*]}\n")
    problems = [str(p) for p in build(text, "rules.yaml").report.problems]
    line = next(i + 1 for i, ln in enumerate(text.splitlines()) if "lemmas: [работать" in ln)
    assert any(
        p.startswith(f"rules.yaml:{line}: 'lemmas' needs the word-form dictionaries")
        for p in problems
    ), problems
    problems = [str(p) for p in build(text, "rules.yaml", TableLemmatizer()).report.problems]
    assert problems == [
        f"rules.yaml:{line + 3}: 'спасиб*': lemmas meet every form of a word by themselves; "
        "drop the '*' (or use 'words:' for a prefix)"
    ]


def test_real_dictionaries_unite_russian_forms_and_english_stems(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(
        rules(
            """\
            - name: c
              category: complaint
              when: {lemmas: [деньги, прийти, cancel, delay]}
            """
        ),
        encoding="utf-8",
    )
    book = load_rulebook(path)
    for body in (
        "Денег так и нет",
        "перевод пришёл не весь",
        "Flight Cancelled again",
        "two delays today",
    ):
        assert classify(make_message(body=body), book).category == "complaint", body
    assert classify(make_message(body="Всё хорошо, спасибо"), book).category == UNCLASSIFIED
    assert book.lemmatizer is not None
    assert lemmas_of("Карты не работали", book.lemmatizer) == ["карта", "не", "работать"]


def test_a_rules_file_with_lemmas_fails_check_cleanly_without_dictionaries(monkeypatch, tmp_path):
    from daemon.adapters import config

    monkeypatch.setattr(config, "default_lemmatizer", lambda: None)
    path = tmp_path / "rules.yaml"
    path.write_text(rules(NOT_WORKING), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        config.load_rulebook(path)
    assert "'lemmas' needs the word-form dictionaries" in str(err.value)


def test_an_anchored_condition_is_compiled_once_and_asked_once_per_message():
    text = rules(
        """\
        - name: c
          category: complaint
          when: {all: [&broken {lemmas: [работать], negation: only}, {words: [карта]}]}
        - name: t
          category: thanks
          when: *broken
        - name: bad
          category: thanks
          when: {all: [&typo {wrds: [x]}, *typo]}
        """
    )
    problems = [p.message for p in build(text, "rules.yaml", TableLemmatizer()).report.problems]
    assert sum("exactly one matcher" in m for m in problems) == 1, problems  # not once per alias
    book = build(
        text.replace("*typo", "{words: [y]}").replace("&typo {wrds", "{words"),
        "rules.yaml",
        TableLemmatizer(),
    ).require()
    first, second = book.rules[0].when.children[0], book.rules[1].when
    assert first is second  # one compiled condition behind the anchor and its alias
    assert classify(make_message(body="Сайт не работает"), book).rule == "t"
    assert classify(make_message(body="Карта не работает"), book).rule == "c"
    assert classify(make_message(body="Карта работает"), book).category == UNCLASSIFIED
