"""The digest's words from templates/digest.LANG.yaml: the very mail the wording in code gave.

tests/data/digest/main.json is the digest as rendered before its words left the code (both
languages; a week with every part filled, and a plain week with empty lists, no previous period
and an unclassified case). Rendered now from the shipped files, it must be the same, byte for
byte: moving the words changed no word and no tag.
"""

from __future__ import annotations

import functools
import json
from datetime import date
from email.message import EmailMessage

import pytest
from support import REPO
from unit.core.report.test_digest import NOW as WEEK_NOW
from unit.core.report.test_digest import TZ, week_cases
from unit.core.report.test_people import EMPLOYEES, NOW, many, report, week

from daemon.adapters.config import load_rulebook, load_templates
from daemon.adapters.morphology import default_lemmatizer
from daemon.core.mail.digest_words import BUILT_IN, ENGLISH
from daemon.core.report.digest import compose_digest, previous_period
from daemon.core.report.figures import build_report
from daemon.core.rules import build

BEFORE = json.loads((REPO / "tests" / "data" / "digest" / "main.json").read_text("utf-8"))


def _parts(msg: EmailMessage) -> dict[str, str]:
    text, html = (msg.get_body((kind,)) for kind in ("plain", "html"))
    assert text is not None and html is not None
    return {"subject": str(msg["Subject"]), "text": text.get_content(), "html": html.get_content()}


@functools.cache
def scenarios(templates: str = "templates") -> dict[str, dict[str, str]]:
    words = load_templates(REPO / templates).digest
    rules = (REPO / "rules.yaml").read_text(encoding="utf-8")
    people = build(rules + EMPLOYEES, "rules.yaml", default_lemmatizer()).require()
    plain = load_rulebook(REPO / "rules.yaml")
    out = {}
    for lang in ("ru", "en"):
        cases = many() + week()
        now = report(people, cases)
        before = build_report(cases[:3], *previous_period(now.start, now.end), NOW, TZ)
        full = compose_digest(
            now, people, NOW, "fb@example.test", ["c@example.test"], before, lang, words=words
        )
        out[f"full.{lang}"] = _parts(full)
        start, end = date(2026, 11, 16), date(2026, 11, 22)
        small_report = build_report(week_cases(), start, end, WEEK_NOW, TZ)
        small = compose_digest(
            small_report,
            plain,
            WEEK_NOW,
            "fb@example.test",
            ["c@example.test"],
            None,
            lang,
            words=words,
        )
        out[f"week.{lang}"] = _parts(small)
    return out


@pytest.mark.parametrize("name", sorted(BEFORE))
def test_the_shipped_files_render_the_digest_exactly_as_the_code_did(name: str) -> None:
    assert scenarios()[name] == BEFORE[name]


def test_the_english_file_says_what_the_built_in_fallback_says() -> None:
    """An older folder without the files gets the English digest it always could."""
    en = load_templates(REPO / "templates").digest["en"]
    assert dict(en.words) == ENGLISH and en.missing == ()
    assert dict(BUILT_IN.words) == ENGLISH


def test_a_reworded_file_changes_the_digest_and_case_values_stay_escaped(tmp_path) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    ru = (REPO / "templates" / "digest.ru.yaml").read_text(encoding="utf-8")
    ru = ru.replace('overdue_list: "Просроченные обращения"', 'overdue_list: "Горит <срок>"')
    ru = ru.replace('complaint: "жалобы"', 'complaint: "претензии"')
    (folder / "digest.ru.yaml").write_text(ru, encoding="utf-8")
    got = scenarios(str(folder))
    assert "Горит <срок>" in got["full.ru"]["text"]
    assert "Горит &lt;срок&gt;" in got["full.ru"]["html"]  # the admin's words are escaped too
    assert "претензии" in got["week.ru"]["text"] and "жалобы  " not in got["week.ru"]["text"]
    assert "&lt;b&gt;1&lt;/b&gt;" in got["full.ru"]["html"]  # a subject is data, as before
    # only digest.ru.yaml in the folder: an English digest falls back to the built-in words
    assert got["full.en"] == BEFORE["full.en"]
