"""Reclassification on plain values: owner and due from the new category, the audit event,
and when the customer is written a correction (once, never to a robot)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from support import REPO

from daemon.adapters.config import load_rulebook, load_templates
from daemon.core import cases as lifecycle
from daemon.core.cases import Case
from daemon.core.deadlines import due_at
from daemon.core.mail.staff import NoticeDesk
from daemon.core.reclassify import first_ack_id, reclassify
from daemon.core.records import OutMail, outmail
from daemon.core.workdays import WorkCalendar, calendar_for

FB = "feedback@example.test"
RECEIVED = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # Monday 10:00 in Moscow
NOW = datetime(2026, 3, 4, 7, 0, tzinfo=UTC)  # two days later: found among the thanks


@pytest.fixture(scope="module")
def desk() -> NoticeDesk:
    book = load_rulebook(REPO / "rules.yaml")
    return NoticeDesk(load_templates(REPO / "templates"), book, FB, bytes(32))


@pytest.fixture(scope="module")
def calendar(desk: NoticeDesk) -> WorkCalendar:
    return calendar_for(desk.book)


def thanked(acknowledged: bool = True) -> tuple[Case, OutMail | None]:
    case = lifecycle.open_case(
        "FB-2026-000007",
        category="thanks",
        owner="team",
        received=RECEIVED,
        due=RECEIVED + timedelta(days=7),
        sender="anna@customer.test",
        sender_name="Анна",
        subject="Спасибо",
        message_id="<anna-1@customer.test>",
        language="ru",
        rule="thanks-ru",
    )
    if not acknowledged:
        return lifecycle.apply(case, "ack_skipped", RECEIVED, reasons=["auto_reply"]), None
    ack = outmail(
        mail_id="<ack-1@example.test>",
        kind="ack",
        sender=FB,
        to=("anna@customer.test",),
        raw="Subject: Спасибо за добрые слова\n\n.",
        now=RECEIVED,
        case_id=case.id,
    )
    return lifecycle.apply(case, "ack_sent", RECEIVED, message_id=ack.id), ack


def test_the_case_takes_the_new_categorys_owner_and_a_due_date_from_its_receipt(
    desk: NoticeDesk, calendar: WorkCalendar
) -> None:
    case, ack = thanked()
    done = reclassify(
        case, "complaint", desk, calendar, NOW, who="center", new_id="<fix@x>", first_ack=ack
    )
    assert done.done and done.case is not None
    moved = done.case
    assert (moved.category, moved.owner, moved.status) == ("complaint", "support", case.status)
    term = desk.book.categories["complaint"].deadline
    assert moved.due == due_at(RECEIVED, term, calendar).at  # from receipt, not from now
    assert moved.due < due_at(NOW, term, calendar).at
    event = next(e for e in moved.events if e.what == "reclassified")
    assert (event.who, event.data["from"], event.data["to"]) == ("center", "thanks", "complaint")
    assert event.data["owner"] == "support" and event.data["due"] == moved.due.isoformat()
    assert moved.events[-1].what == "ack_corrected"


def test_the_correction_goes_once_to_whom_the_first_ack_went_in_the_thread(
    desk: NoticeDesk, calendar: WorkCalendar
) -> None:
    case, ack = thanked()
    done = reclassify(
        case, "complaint", desk, calendar, NOW, who="center", new_id="<fix@x>", first_ack=ack
    )
    [mail] = done.mail
    assert mail.kind == "ack" and mail.id == "<fix@x>" and mail.case_id == case.id
    assert set(mail.recipients) == {"anna@customer.test", FB}
    assert "In-Reply-To: <anna-1@customer.test>" in mail.raw
    assert done.case is not None and first_ack_id(done.case) == ack.id  # type: ignore[union-attr]
    back = reclassify(
        done.case, "thanks", desk, calendar, NOW, who="center", new_id="<2@x>", first_ack=ack
    )
    again = reclassify(
        back.case,  # type: ignore[arg-type]
        "official",
        desk,
        calendar,
        NOW,
        who="center",
        new_id="<3@x>",
        first_ack=ack,
    )
    assert back.mail == () and again.mail == ()
    assert "once per case" in again.why_no_correction


def test_no_correction_without_a_first_ack_when_closed_or_quiet(
    desk: NoticeDesk, calendar: WorkCalendar
) -> None:
    robot, _ = thanked(acknowledged=False)
    done = reclassify(robot, "complaint", desk, calendar, NOW, who="center", new_id="<1@x>")
    assert done.done and done.mail == ()
    assert done.why_no_correction == "no acknowledgment was sent for it"
    case, ack = thanked()
    closed = lifecycle.apply(case, "closed", NOW, who="team")
    shut = reclassify(
        closed, "complaint", desk, calendar, NOW, who="center", new_id="<2@x>", first_ack=ack
    )
    assert shut.done and shut.mail == () and shut.case.status is lifecycle.CLOSED  # type: ignore[union-attr]
    quiet = reclassify(
        case,
        "complaint",
        desk,
        calendar,
        NOW,
        who="center",
        new_id="<3@x>",
        first_ack=ack,
        quiet_until=NOW + timedelta(days=1),
    )
    assert quiet.done and quiet.mail == () and "bounced hard" in quiet.why_no_correction


def test_an_unknown_or_the_same_category_changes_nothing(
    desk: NoticeDesk, calendar: WorkCalendar
) -> None:
    case, _ = thanked()
    unknown = reclassify(case, "praise", desk, calendar, NOW, who="c", new_id="<1@x>")
    assert not unknown.done and "unknown category 'praise'" in unknown.refused
    same = reclassify(case, "thanks", desk, calendar, NOW, who="c", new_id="<1@x>")
    assert not same.done and same.refused == f"{case.id} is already thanks"
