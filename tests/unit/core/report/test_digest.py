"""The digest mail: its period, its parts, its headers, and the overdue list with owners."""

from __future__ import annotations

import email
import email.policy
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from support import REPO

from daemon import cli
from daemon.adapters.config import load_rulebook, load_templates
from daemon.adapters.morphology import default_lemmatizer
from daemon.adapters.storage.store import Store
from daemon.core.cases import Case, apply, open_case
from daemon.core.report.digest import (
    DigestSettings,
    compose_digest,
    digest_period,
    digest_recipients,
    digest_settings,
)
from daemon.core.report.figures import build_report
from daemon.core.rules import Built, RuleBook, build
from daemon.errors import ConfigError

TZ = "Europe/Moscow"
MSK = ZoneInfo(TZ)
UTC = ZoneInfo("UTC")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=MSK)  # a Monday
WORDS = load_templates(REPO / "templates").digest  # the shipped digest.LANG.yaml


@pytest.fixture(scope="module")
def book() -> RuleBook:
    return load_rulebook(REPO / "rules.yaml")


def _case(n: int, category: str, owner: str, received: datetime, due: datetime) -> Case:
    return open_case(
        f"FB-2026-{n:06d}",
        category=category,
        owner=owner,
        received=received,
        due=due,
        sender=f"c{n}@example.test",
        sender_name="C",
        subject=f"s{n}",
        message_id=f"<{n}@x>",
        language="ru",
        rule=f"{category}-ru",
    )


def week_cases() -> list[Case]:
    mon = datetime(2026, 11, 16, 10, tzinfo=MSK)
    return [
        apply(
            _case(1, "thanks", "team", mon, mon + timedelta(days=5)),
            "answered",
            mon + timedelta(hours=2),
        ),
        _case(2, "complaint", "support", mon + timedelta(days=1), mon + timedelta(days=3)),
        _case(3, "official", "legal", mon + timedelta(days=2), mon + timedelta(days=12)),
        _case(4, "complaint", "support", mon + timedelta(days=3), mon + timedelta(days=4)),
        # last week's complaint, still open: overdue, listed, but not counted in this week
        _case(5, "complaint", "legal", mon - timedelta(days=6), mon - timedelta(days=4)),
        # Sunday 23:30 Moscow is in the week; Monday 00:10 is not
        _case(
            6,
            "unclassified",
            "center",
            datetime(2026, 11, 22, 23, 30, tzinfo=MSK),
            datetime(2026, 11, 30, tzinfo=MSK),
        ),
        _case(
            7,
            "thanks",
            "team",
            datetime(2026, 11, 23, 0, 10, tzinfo=MSK),
            datetime(2026, 11, 30, tzinfo=MSK),
        ),
    ]


def test_weekly_period_is_the_previous_complete_iso_week() -> None:
    week = (date(2026, 11, 16), date(2026, 11, 22))
    assert digest_period(NOW, "weekly", TZ) == week
    assert digest_period(datetime(2026, 11, 29, 23, 59, tzinfo=MSK), "weekly", TZ) == week
    # Monday 00:30 in Moscow is still Sunday in UTC: the admin's zone decides
    monday_early = datetime(2026, 11, 22, 21, 30, tzinfo=UTC)
    assert digest_period(monday_early, "weekly", TZ) == week
    assert digest_period(monday_early - timedelta(hours=1), "weekly", TZ) == (
        date(2026, 11, 9),
        date(2026, 11, 15),
    )


def test_daily_period_is_yesterday_in_the_admin_zone() -> None:
    assert digest_period(NOW, "daily", TZ) == (date(2026, 11, 22), date(2026, 11, 22))
    new_year = datetime(2026, 12, 31, 21, 5, tzinfo=UTC)  # 00:05 on 1 January in Moscow
    assert digest_period(new_year, "daily", TZ) == (date(2026, 12, 31), date(2026, 12, 31))
    with pytest.raises(ValueError):
        digest_period(NOW, "monthly", TZ)


def _digest(
    book: RuleBook, every: str = "weekly", language: str | None = None
) -> email.message.EmailMessage:
    start, end = digest_period(NOW, every, TZ)
    report = build_report(week_cases(), start, end, NOW, TZ)
    return compose_digest(
        report,
        book,
        NOW,
        "feedback@example.test",
        ["center@example.test", "boss@example.test"],
        language=language,
        words=WORDS,
    )


def test_digest_is_multipart_alternative_with_both_parts(book: RuleBook) -> None:
    raw = _digest(book, language="en").as_bytes()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    types = [p.get_content_type() for p in msg.iter_parts()]
    assert types == ["text/plain", "text/html"]  # plain first: clients show the last they can
    assert msg["Subject"] == "Feedback digest 2026-11-16 – 2026-11-22"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["To"] == "center@example.test, boss@example.test"
    assert msg["Message-ID"].endswith("@example.test>")
    html = msg.get_body(("html",)).get_content()
    assert "<img" not in html and "<script" not in html and "<style" not in html
    assert "class=" not in html  # Outlook and Gmail drop classes: every style is inline
    assert 'bgcolor="#e67e22"' in html  # the chart's bars are table cells


def test_digest_is_in_the_admins_language_the_center_owners_by_default(book: RuleBook) -> None:
    assert book.owners[book.center].language == "ru"
    assert _digest(book)["Subject"] == "Сводка обратной связи 2026-11-16 – 2026-11-22"
    english = with_digest("digest:\n  to: [center]\n  language: en\n").require()
    assert _digest(english)["Subject"] == "Feedback digest 2026-11-16 – 2026-11-22"


def test_digest_counts_the_week_and_lists_every_overdue_case_with_subject_and_sender(
    book,
) -> None:
    msg = _digest(book, language="en")
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "cases received          5" in text  # 1, 2, 3, 4, 6 — not 5 (earlier), not 7
    overdue = [ln for ln in text.splitlines() if ln.startswith("FB-")]
    assert [ln.split()[:3] for ln in overdue] == [
        ["FB-2026-000005", "s5", "c5@example.test"],  # due 12th, then 19th, then 20th
        ["FB-2026-000002", "s2", "c2@example.test"],
        ["FB-2026-000004", "s4", "c4@example.test"],
    ]
    assert "Legal Department" in overdue[0] and "Customer Support Lead" in overdue[1]
    assert all(" MSK" in ln for ln in overdue)  # each due time names its zone
    assert "FB-2026-000005" in html and "Legal Department" in html
    assert "complaint     ##" in text  # the text chart


def test_daily_digest_has_a_one_day_subject(book: RuleBook) -> None:
    msg = _digest(book, "daily", "en")
    assert msg["Subject"] == "Feedback digest 2026-11-22"
    assert "cases received          1" in msg.get_body(("plain",)).get_content()


def with_digest(section: str) -> Built:
    """The shipped rules.yaml with its `digest:` section replaced by `section`."""
    text = (REPO / "rules.yaml").read_text(encoding="utf-8")
    start = text.index("\ndigest:\n") + 1
    end = text.index("\nexamples:\n", start) + 1
    return build(text[:start] + section + text[end:], "rules.yaml", default_lemmatizer())


def test_digest_settings_and_recipients(book: RuleBook) -> None:
    assert digest_settings(book) == DigestSettings("weekly", time(9, 0), ("center",))
    daily = with_digest(
        'digest:\n  every: daily\n  at: "07:30"\n  to: [center, boss@example.test, center]\n'
    ).require()
    conf = digest_settings(daily)
    assert conf == DigestSettings("daily", time(7, 30), ("center", "boss@example.test", "center"))
    assert digest_recipients(conf.to, book) == ("center@example.test", "boss@example.test")
    assert digest_settings(with_digest("digest: {every: daily}\n").require()) == DigestSettings(
        "daily", time(8, 0), ("center",)
    )
    assert digest_settings(with_digest("").require()) is None


def test_bad_digest_settings_name_every_problem_when_the_rules_load() -> None:
    built = with_digest('digest: {every: hourly, at: "8am", to: [nobody], colour: red}\n')
    with pytest.raises(ConfigError) as err:
        built.require()
    text = str(err.value)
    for word in ("digest.colour", "digest.every", "digest.at", "'nobody'"):
        assert word in text
    shipped = (REPO / "rules.yaml").read_text(encoding="utf-8").splitlines()
    line = shipped.index("digest:") + 1  # the section's line in the shipped file
    assert all(p.line == line for p in built.report.problems), text
    wrong_to = with_digest("digest: {to: center}\n").report.problems
    assert [p.message for p in wrong_to] == [
        "digest.to: give a list of owner keys or addresses, e.g. [center]"
    ]


def test_digest_command_dry_run_prints_the_text_part(tmp_path, monkeypatch, capsys) -> None:
    store = Store(tmp_path / "store.json")
    for case in week_cases():
        store.put_case(case)
    store.commit()
    monkeypatch.setenv("FEEDBACKD_DB", str(tmp_path / "store.json"))
    monkeypatch.delenv("FEEDBACKD_RULES", raising=False)
    assert cli.main(["digest", "--now", "2026-11-23T09:00", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Subject: Сводка обратной связи 2026-11-16 – 2026-11-22\n")
    assert "Would go to 1 recipient(s): center@example.test" in out
    assert "Просроченные обращения" in out and "FB-2026-000005" in out and "<html" not in out


def test_digest_shows_automatic_mail_only_when_there_was_some(book: RuleBook) -> None:
    """Robots' mail opens no case (daemon.core.automatic): the meeting still sees how much."""
    start, end = digest_period(NOW, "weekly", TZ)
    quiet = _digest(book, language="en").get_body(("plain",)).get_content()
    assert "automatic mail" not in quiet
    robots = {start: 3, end: 4, end + timedelta(days=1): 50}  # the day after: another period
    report = build_report(week_cases(), start, end, NOW, TZ, automatic=robots)
    msg = compose_digest(report, book, NOW, "f@x.test", ["c@x.test"], language="en", words=WORDS)
    rows = [ln.split() for ln in msg.get_body(("plain",)).get_content().splitlines()]
    assert ["automatic", "mail,", "no", "case", "7", "–", "–"] in rows
