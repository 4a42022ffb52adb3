"""Case changes from the command line: one meaning whether the CLI or the daemon applies them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support import REPO

from daemon.adapters.config import load_rulebook, load_templates
from daemon.adapters.storage.files import StorePaths
from daemon.adapters.storage.learned import load_model
from daemon.adapters.storage.store import Store
from daemon.core.cases import open_case
from daemon.core.mail.staff import NoticeDesk
from daemon.core.rules import RuleBook
from daemon.service.case_changes import apply_request, serve

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def book() -> RuleBook:
    return load_rulebook(REPO / "rules.yaml")


def store_with_a_case(path: Path | None = None) -> Store:
    store = Store(path)
    store.put_case(
        open_case(
            "FB-2026-000001",
            category="complaint",
            owner="support",
            received=NOW,
            due=NOW + timedelta(days=2),
            sender="anna@x.test",
            sender_name="Anna",
            subject="broken",
            message_id="<m1@x>",
            language="en",
            rule="complaint",
        )
    )
    store.commit()
    return store


def test_reassign_to_a_known_owner_then_close(book: RuleBook) -> None:
    store = store_with_a_case()
    req = {"case": "FB-2026-000001", "action": "reassign", "owner": "legal", "who": "cli:ann"}
    outcome = apply_request(store, book, req, NOW)
    assert outcome.ok, outcome.message
    assert outcome.message == "FB-2026-000001: reassigned (now open, owner legal)"
    closed = apply_request(store, book, {"case": "FB-2026-000001", "action": "close"}, NOW)
    assert closed.ok
    case = store.case("FB-2026-000001")
    assert case is not None and (case.status, case.owner) == ("closed", "legal")
    assert [e.what for e in case.events][-2:] == ["reassigned", "closed"]


@pytest.mark.parametrize(
    ("req", "says"),
    [
        ({"case": "FB-0", "action": "close"}, "no case FB-0"),
        ({"case": "FB-2026-000001", "action": "delete"}, "unknown action 'delete'"),
        ({"case": "FB-2026-000001", "action": "reassign", "owner": "nobody"}, "unknown owner"),
        ({"case": "FB-2026-000001", "action": "reopen"}, "cannot apply 'reopened'"),
    ],
)
def test_a_refused_request_changes_nothing(book: RuleBook, req: dict[str, str], says: str) -> None:
    store = store_with_a_case()
    before = store.case("FB-2026-000001")
    outcome = apply_request(store, book, req, NOW)
    assert not outcome.ok and says in outcome.message
    assert store.case("FB-2026-000001") == before
    assert not store.pending


def test_the_daemon_side_applies_spooled_requests_durably(book: RuleBook, tmp_path: Path) -> None:
    db = tmp_path / "store.json"
    store = store_with_a_case(db)
    folder = StorePaths(db).requests
    folder.mkdir()
    (folder / "r1.json").write_text(
        json.dumps({"case": "FB-2026-000001", "action": "note", "text": "called her back"})
    )
    assert serve(store, book, db, NOW) == 1
    assert json.loads((folder / "r1.result").read_text())["ok"] is True
    case = Store(db).case("FB-2026-000001")  # read back from disk: committed before answering
    assert case is not None and case.events[-1].data["text"] == "called her back"


def notices_for(book: RuleBook, store: Store) -> NoticeDesk:
    return NoticeDesk(load_templates(REPO / "templates"), book, "feedback@example.test", b"k" * 32)


def test_reclassify_from_the_command_line_moves_the_case_and_teaches_the_model(
    book: RuleBook, tmp_path: Path
) -> None:
    """The case's words were kept when it opened; the center's correction is a lesson."""
    db = tmp_path / "store.json"
    store = store_with_a_case(db)
    store.set_meta("words:FB-2026-000001", {"words": ["карта", "не_работает"]})
    req = {"case": "FB-2026-000001", "action": "reclassify", "category": "official"}
    req["who"] = "cli:ann"
    outcome = apply_request(store, book, req, NOW, notices_for(book, store))
    assert outcome.ok, outcome.message
    assert "reclassified complaint -> official (owner legal" in outcome.message
    assert "no corrected acknowledgment: no acknowledgment was sent for it" in outcome.message
    case = store.case("FB-2026-000001")
    assert case is not None and (case.category, case.owner) == ("official", "legal")
    assert case.events[-1].who == "cli:ann"
    model = load_model(db)
    assert [(e.key, e.category, e.source) for e in model.examples] == [
        ("FB-2026-000001", "official", "reclassified")
    ]
    assert (StorePaths(db).learned.stat().st_mode & 0o777) == 0o600
    closed = apply_request(store, book, {"case": "FB-2026-000001", "action": "close"}, NOW)
    assert closed.ok and load_model(db) == model  # closing after a correction adds nothing


def test_closing_by_a_person_confirms_the_category(book: RuleBook, tmp_path: Path) -> None:
    db = tmp_path / "store.json"
    store = store_with_a_case(db)
    store.set_meta("words:FB-2026-000001", {"words": ["сломан"]})
    req = {"case": "FB-2026-000001", "action": "close", "who": "cli:ann"}
    assert apply_request(store, book, req, NOW).ok
    [lesson] = load_model(db).examples
    assert (lesson.category, lesson.source, lesson.words) == ("complaint", "confirmed", ("сломан",))


def test_reclassify_needs_a_known_category_and_the_notices(book: RuleBook) -> None:
    store = store_with_a_case()
    req = {"case": "FB-2026-000001", "action": "reclassify", "category": "praise"}
    refused = apply_request(store, book, req, NOW, notices_for(book, store))
    assert not refused.ok and "unknown category 'praise'" in refused.message
    assert not apply_request(store, book, req, NOW).ok
    assert not store.pending


def test_credit_a_thank_you_to_an_employee_by_hand_once() -> None:
    """Where a thank-you's name fitted several people, the center credits the right one."""
    from daemon.adapters.morphology import default_lemmatizer
    from daemon.core.rules import build

    text = (REPO / "rules.yaml").read_text(encoding="utf-8") + (
        "\nemployees:\n  - name: Ольга Петрова\n    address: olga@x.test\n    team: team\n"
    )
    book = build(text, "rules.yaml", default_lemmatizer()).require()
    store = Store(None)
    store.put_case(
        open_case(
            "FB-2026-000002",
            category="thanks",
            owner="team",
            received=NOW,
            due=NOW + timedelta(days=5),
            sender="anna@x.test",
            sender_name="Anna",
            subject="Спасибо",
            message_id="<m2@x>",
            language="ru",
            rule="thanks-ru",
        )
    )
    req = {"case": "FB-2026-000002", "action": "credit", "employee": "Olga@x.test", "who": "cli:a"}
    outcome = apply_request(store, book, req, NOW)
    assert outcome.ok and outcome.message.startswith("FB-2026-000002: credited to Ольга Петрова")
    case = store.case("FB-2026-000002")
    assert case is not None and case.events[-1].who == "cli:a"
    assert case.events[-1].data == {
        "employee": "olga@x.test",
        "team": "team",
        "name": "Ольга Петрова",
    }
    again = apply_request(store, book, req, NOW)
    assert not again.ok and "credited already" in again.message
    stranger = apply_request(store, book, req | {"employee": "ivan@x.test"}, NOW)
    assert not stranger.ok and "olga@x.test" in stranger.message  # lists whom it may be
