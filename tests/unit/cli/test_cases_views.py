"""`feedbackd cases show` is a card and `cases list` a table that fits: for people, on the
admin's clock (the shipped rules: Europe/Moscow), while `--format json` stays the store's
documents for scripts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from daemon import cli
from daemon.adapters.storage.store import Store
from daemon.core.cases import Case, apply, open_case

MSK = timezone(timedelta(hours=3))
RECEIVED = datetime(2026, 12, 1, 20, 7, tzinfo=UTC)  # as the server stamped it
DUE = datetime(2026, 12, 11, 23, 59, 59, tzinfo=MSK)  # as the deadline came out
LONG_SUBJECT = "Претензия по заказу 42: верните деньги за холодильник, привезённый с опозданием"
LONG_SENDER = "anna.petrova.with.a.very.long.address@customer-domain.example"


def official_case(store: Store, subject: str = LONG_SUBJECT, sender: str = LONG_SENDER) -> Case:
    case = open_case(
        store.next_case_id(2026),
        category="official",
        owner="legal",
        received=RECEIVED,
        due=DUE,
        sender=sender,
        sender_name="Анна Петрова",
        subject=subject,
        message_id="<m1@customer.test>",
        language="ru",
        rule="official-ru",
    )
    case = apply(case, "ack_sent", RECEIVED + timedelta(minutes=1), message_id="<a1@co.example>")
    case = apply(case, "note", RECEIVED + timedelta(hours=11), who="cli:olga", text="called\nback")
    store.put_case(case)
    return case


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("FEEDBACKD_DB", str(tmp_path / "store.json"))
    monkeypatch.delenv("FEEDBACKD_RULES", raising=False)
    return Store(tmp_path / "store.json")


def test_show_prints_a_labelled_card_with_the_trail_on_the_admins_clock(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    case = official_case(store)
    store.commit()
    assert cli.main(["cases", "show", case.id]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Case {case.id}\n")
    assert f"  Subject:     {LONG_SUBJECT}\n" in out
    assert "  Owner:       legal (Legal Department)\n" in out
    assert f"  From:        Анна Петрова <{LONG_SENDER}>\n" in out
    assert "  Received:    2026-12-01 23:07 MSK\n" in out  # 20:07 UTC, on the Moscow clock
    assert "  Due:         2026-12-11 23:59 MSK\n" in out
    events = out.split("Events (3)\n", 1)[1].splitlines()
    assert events[0].startswith("  2026-12-01 23:07 MSK  feedbackd      opened ")
    assert "due=2026-12-11 23:59 MSK" in events[0]  # a time inside the data, too
    assert events[2].startswith("  2026-12-02 10:07 MSK  cli:olga ")
    assert events[2].endswith('text="called back"')
    assert "(" + "'" not in out and "{'" not in out and "+00:00" not in out  # no Python reprs


def test_show_json_is_still_the_store_document(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    case = official_case(store)
    store.commit()
    assert cli.main(["cases", "show", case.id, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(case.to_doc()))


def test_list_has_sender_and_subject_cut_to_the_terminal_width(
    store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    official_case(store)
    official_case(store, subject="Спасибо", sender="ivan@x.test")
    store.commit()
    monkeypatch.setenv("COLUMNS", "100")
    assert cli.main(["cases", "list"]) == 0
    header, long, short = capsys.readouterr().out.splitlines()
    assert header.split() == [
        *("ID", "CATEGORY", "OWNER", "STATUS", "DUE", "(MSK)", "FROM", "SUBJECT")
    ]
    assert all(len(line) <= 100 for line in (header, long, short))
    assert "2026-12-11 23:59" in long and "anna.petrova" in long and "Претензия по" in long
    assert long.count("…") == 2  # both cut, each marked
    assert short.split()[-2:] == ["ivan@x.test", "Спасибо"]
    assert short.index("ivan@x.test") == long.index("anna.petrova")  # the columns line up

    monkeypatch.setenv("COLUMNS", "300")
    assert cli.main(["cases", "list"]) == 0
    wide = capsys.readouterr().out.splitlines()[1]
    assert wide.endswith(LONG_SUBJECT)  # room enough: the subject whole


def test_list_json_keeps_one_document_a_line(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    case = official_case(store)
    store.commit()
    assert cli.main(["cases", "list", "--format", "json"]) == 0
    assert [json.loads(x)["subject"] for x in capsys.readouterr().out.splitlines()] == [
        case.subject
    ]
