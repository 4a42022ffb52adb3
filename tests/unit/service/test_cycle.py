"""The cycle's order on the twins: commit before filing and sending, nothing twice, nothing lost.

The lab's test_crash.py proves the same on Dovecot with SIGKILL; here a `Crash` raised at every
single step of a cycle (fetch, intake, commit, send, the look for our copy, move, the hooks)
is followed by a restart on the store reopened from its file, in a fraction of the time.
"""

from __future__ import annotations

import email
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from twins import Crash, MemoryMailbox, RecordingSender, TrippingHooks, Tripwire, incoming

from daemon.adapters.storage.files import StorePaths
from daemon.adapters.storage.store import Store
from daemon.core.mail.compose import Templates
from daemon.core.records import OutState
from daemon.core.rules import RuleBook
from daemon.service import cycle as cycle_module
from daemon.service.cycle import PASSES, CycleReport, run_cycle
from daemon.service.intake import Desk, intake
from daemon.service.ports import CycleHooks

FB = "feedback@example.test"
NOW = datetime(2026, 3, 3, 5, 0, tzinfo=UTC)  # a Tuesday, 08:00 in Moscow: before the digest
PEOPLE = ("anna@customer.test", "bob@customer.test", "ivan@customer.test")
ROBOT = "robot@customer.test"


@dataclass
class World:
    """The servers (they outlive a crash) and the daemon's store and desk (reopened after it)."""

    book: RuleBook
    templates: Templates
    mailbox: MemoryMailbox
    sender: RecordingSender
    db: Path | None
    store: Store
    archive: bool = False  # the cycle is told where the store lies (the sent mail's text moves)

    def desk(self) -> Desk:
        return Desk(self.store, self.book, self.templates, FB)

    def cycle(self, now: datetime = NOW, hooks: CycleHooks | None = None) -> CycleReport:
        db = self.db if self.archive else None
        return run_cycle(self.desk(), self.mailbox, self.sender, now, hooks, db)

    def restart(self) -> None:
        """A new process: only what was committed is left of the store."""
        assert self.db is not None
        self.store = Store(self.db)

    def cases_by_sender(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for case in self.store.cases():
            found[case.sender] = found.get(case.sender, 0) + 1
        return found


def world(
    book: RuleBook, templates: Templates, db: Path | None = None, archive: bool = False
) -> World:
    mailbox = MemoryMailbox()
    sender = RecordingSender({FB: mailbox})  # our copies come back, as on the real servers
    return World(book, templates, mailbox, sender, db, Store(db), archive)


def assert_texts_archived(w: World) -> None:
    """Every mail sent is in the archive whole (its text as it went out); the live store keeps
    no sent mail's text."""
    assert w.db is not None
    lines = [
        json.loads(line)
        for path in StorePaths(w.db).archive.glob("outbox-*.jsonl")
        for line in path.read_text().splitlines()
    ]
    archived = {d["id"]: d["raw"].encode("utf-8") for d in lines if d["raw"]}
    for env in w.sender.sent:
        mid = str(email.message_from_bytes(env.raw)["Message-ID"])
        assert archived.get(mid) == env.raw, f"{mid}: not archived as sent"
    sent = w.store.outbox(OutState.SENT)
    assert sent and all(m.raw == "" for m in sent)


def arrive(mailbox: MemoryMailbox, people: tuple[str, ...] = PEOPLE) -> None:
    for person in people:
        mailbox.deliver(
            incoming(person, "Жалоба", "Заказ пришёл разбитым, прошу разобраться."), NOW
        )
    mailbox.deliver(
        incoming(
            ROBOT, "Automatic reply", "I am away.", headers={"Auto-Submitted": "auto-replied"}
        ),
        NOW,
    )


def assert_settled(w: World, people: tuple[str, ...] = PEOPLE) -> None:
    """One case per person, one acknowledgment each; the robot's mail filed as automatic with
    no case and nothing sent; INBOX empty."""
    assert w.cases_by_sender() == dict.fromkeys(people, 1)
    for person in people:
        assert len(w.sender.sent_to(person)) == 1, f"{person}: not exactly one acknowledgment"
    assert w.sender.sent_to(ROBOT) == []
    counts = w.mailbox.counts()
    assert counts["INBOX"] == 0
    assert counts["Feedback/Complaints"] + counts.get("Feedback/Unclassified", 0) == len(people)
    assert counts["Feedback/Automatic"] == 1
    # Our copy of every mail: an acknowledgment per person and an owner notice per case.
    assert counts["Sent"] == len(people) + len(people)


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cycle_module, "BATCH", 2)  # several batches: crashes land between them


def test_the_passes_run_in_the_documented_order() -> None:
    names = [p.__name__ for p in PASSES]
    assert names == [
        "recover_owed_mail",
        "file_unfiled",
        "intake_new",
        "timed_duties",
        "send_owed",
        "count_quarantine",
    ]
    doc = cycle_module.__doc__ or ""
    assert [doc.index(f"`{n}`") for n in names] == sorted(doc.index(f"`{n}`") for n in names)


def test_a_cycle_opens_cases_acknowledges_once_and_files_only_after_the_commit(
    book: RuleBook, templates: Templates, small_batches: None
) -> None:
    w = world(book, templates)
    arrive(w.mailbox)
    moves: list[tuple[list[int], str]] = []
    move = w.mailbox.move

    def checked_move(uids: list[int], folder: str) -> None:
        assert not w.store.pending, "a message moved before its outcome was committed"
        assert all(w.store.ledger(w.mailbox.uidvalidity(), uid) for uid in uids)
        moves.append((uids, folder))
        move(uids, folder)

    w.mailbox.move = checked_move  # type: ignore[method-assign]
    report = w.cycle()
    assert_settled(w)
    assert moves
    assert report.new == 4 + 6  # four messages, then our six copies in the second look
    assert report.outcomes == {"case": 3, "automatic": 1, "own": 6}
    assert (report.sent, report.filed, report.remaining, report.quarantine) == (6, 10, 0, 0)


def test_a_second_cycle_does_nothing(book: RuleBook, templates: Templates) -> None:
    w = world(book, templates)
    arrive(w.mailbox)
    w.cycle()
    before = {t: w.store.docs(t) for t in ("cases", "ledger", "outbox", "meta")}
    counts, attempts = w.mailbox.counts(), len(w.sender.attempts)
    again = w.cycle(NOW + timedelta(minutes=1))
    assert (again.new, again.sent, again.filed, again.deferred, again.failed) == (0, 0, 0, 0, 0)
    assert {t: w.store.docs(t) for t in before} == before
    assert w.mailbox.counts() == counts and len(w.sender.attempts) == attempts


@pytest.fixture
def crash_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A store on file, as the daemon has it. A Crash is a process dying, not a power cut:
    the page cache survives it, so fsync is skipped for speed (the store's own tests cover it)."""
    monkeypatch.setattr(os, "fsync", lambda fd: None)
    yield tmp_path


def crashing_run(w: World, at: int | None) -> Tripwire:
    """One cycle with every step that touches the world on a tripwire set to go off at `at`."""
    tripwire = Tripwire(at)
    w.mailbox.tripwire = w.sender.tripwire = tripwire
    w.store.commit = tripwire.around("store.commit", w.store.commit)  # type: ignore[method-assign]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cycle_module, "intake", tripwire.around("intake", intake))
        try:
            w.cycle(hooks=TrippingHooks(tripwire))
        finally:
            w.mailbox.tripwire = w.sender.tripwire = Tripwire()  # the servers live on
    return tripwire


def crash_then_restart(
    w: World,
    at: int,
    people: tuple[str, ...],
    check: Callable[[World], None] = lambda w: None,
) -> None:
    """Mail arrives, the cycle dies at step `at`, one restart settles it (an interrupted send
    is looked for, our copy, once the resend grace has passed: the clock moves past it)."""
    arrive(w.mailbox, people)
    with pytest.raises(Crash) as crash:
        crashing_run(w, at)
    w.restart()
    w.cycle(NOW + timedelta(minutes=10))
    try:
        assert_settled(w, people)
        check(w)
    except AssertionError as exc:
        raise AssertionError(f"crash at {crash.value}: {exc}") from None


def test_a_crash_at_any_step_loses_nothing_and_acknowledges_no_one_twice(
    book: RuleBook,
    templates: Templates,
    crash_store: Path,
    small_batches: None,
) -> None:
    people = PEOPLE[:1]  # with the robot and our three copies: batches of two in both looks
    clean = world(book, templates, crash_store / "clean.json")
    arrive(clean.mailbox, people)
    steps = crashing_run(clean, None).steps
    assert_settled(clean, people)
    assert {s.split(":")[0] for s in steps} >= {
        "mailbox.fetch",
        "intake",
        "store.commit",
        "sender.send_many",
        "mailbox.move",
        "hooks.after_commit",
        "hooks.stop_requested",
    }
    for at in range(1, len(steps) + 1):
        crash_then_restart(world(book, templates, crash_store / f"crash{at}.json"), at, people)


def test_sent_mail_leaves_its_text_in_the_archive_and_a_crash_anywhere_loses_none(
    book: RuleBook,
    templates: Templates,
    crash_store: Path,
    small_batches: None,
) -> None:
    people = PEOPLE[:1]
    clean = world(book, templates, crash_store / "clean.json", archive=True)
    arrive(clean.mailbox, people)
    steps = crashing_run(clean, None).steps
    assert_settled(clean, people)
    assert_texts_archived(clean)
    # Text moves only once mail went out: a crash from the first send on (the steps before it
    # are the test above's).
    first = steps.index("sender.send_many:after") + 1
    for at in range(first, len(steps) + 1):
        w = world(book, templates, crash_store / f"crash{at}.json", archive=True)
        crash_then_restart(w, at, people, assert_texts_archived)


def test_a_transient_smtp_failure_leaves_the_mail_owed_until_it_goes(
    book: RuleBook, templates: Templates
) -> None:
    w = world(book, templates)
    arrive(w.mailbox)
    w.sender.fail_next(times=6)  # every mail of the first cycle: the server says 421
    first = w.cycle()
    assert first.deferred == 6 and first.sent == 0
    assert w.sender.sent == []
    owed = w.store.outbox("queued")
    assert len(owed) == 6 and all(m.attempts == 1 and m.error for m in owed)
    assert w.cases_by_sender() == dict.fromkeys(PEOPLE, 1)
    assert w.mailbox.counts()["INBOX"] == 0  # the originals are filed all the same
    early = w.cycle(NOW + timedelta(seconds=5))  # before the back-off ends: nothing is tried
    assert early.sent == 0 and len(w.sender.attempts) == 6
    w.cycle(NOW + timedelta(minutes=1))
    assert_settled(w)


def test_a_send_broken_off_after_the_data_is_not_sent_again_when_our_copy_arrived(
    book: RuleBook, templates: Templates
) -> None:
    w = world(book, templates)
    arrive(w.mailbox)
    w.sender.fail_next(times=7, maybe_sent=True)  # taken by the server, the reply lost
    first = w.cycle()
    assert first.deferred == 6 and len(w.store.outbox("sending")) == 6
    w.cycle(NOW + timedelta(minutes=10))  # past the resend grace: our copies say they went
    assert w.store.outbox("sending") == [] and len(w.store.outbox("sent")) == 6
    assert_settled(w)
    assert len(w.sender.attempts) == 6  # not one of them sent twice


def test_a_recipient_refused_for_good_is_given_up_and_the_center_told(
    book: RuleBook, templates: Templates
) -> None:
    w = world(book, templates)
    arrive(w.mailbox)
    w.sender.refuse(PEOPLE[0])
    report = w.cycle()
    assert report.failed == 1
    assert w.sender.sent_to(PEOPLE[0]) == []
    [failed] = w.store.outbox("failed")
    assert failed.recipients[0] == PEOPLE[0] and failed.error.startswith("550")
    center = book.owners[book.center].email
    alerts = [m for m in w.sender.sent_to(center) if "failed" in str(m["Subject"])]
    assert len(alerts) == 1
    w.cycle(NOW + timedelta(hours=2))  # a 5xx is not retried
    assert [a.envelope.recipients[0] for a in w.sender.attempts].count(PEOPLE[0]) == 1


def test_our_own_copies_are_recognised_and_filed_in_sent(
    book: RuleBook, templates: Templates
) -> None:
    w = world(book, templates)
    arrive(w.mailbox)
    report = w.cycle()
    assert report.outcomes["own"] == len(w.sender.sent) == 6
    assert len(w.store.cases()) == 3  # no copy became a case
    ours = {m.id for m in w.store.outbox()}
    entries = [e for e in w.store.ledger_entries() if e.outcome == "own"]
    assert {e.message_id for e in entries} == ours and all(e.folder == "Sent" for e in entries)


def test_a_stop_request_ends_the_cycle_after_the_batch_in_hand_and_loses_nothing(
    book: RuleBook, templates: Templates, small_batches: None
) -> None:
    w = world(book, templates)
    arrive(w.mailbox)
    stopped = w.cycle(hooks=TrippingHooks(Tripwire(), stop_after_commits=1))
    assert stopped.outcomes == {"case": 2}  # one batch of two, then the stop
    assert stopped.duties == [] and w.mailbox.counts()["INBOX"] == 2 + 4  # the rest, our copies
    assert all(len(w.sender.sent_to(p)) <= 1 for p in PEOPLE)
    w.cycle(NOW + timedelta(minutes=1))
    assert_settled(w)


def test_a_dry_run_decides_but_sends_and_moves_nothing(
    book: RuleBook, templates: Templates
) -> None:
    w = world(book, templates)
    arrive(w.mailbox)
    report = run_cycle(w.desk(), w.mailbox, None, NOW)
    assert report.outcomes == {"case": 3, "automatic": 1} and report.remaining == 4
    assert w.sender.attempts == [] and w.mailbox.counts() == {"INBOX": 4}
    assert len(w.store.outbox("queued")) == 6


def test_the_first_acknowledgments_go_out_before_the_backlog_is_taken_in(
    book: RuleBook, templates: Templates, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backlog larger than BATCH is taken in batches that start small (FIRST_BATCH, then
    doubling up to BATCH): the SMTP thread has the first acknowledgments to send after a few
    messages, not after a whole BATCH, and sends while the cycle takes the next batch. A burst
    that fits in BATCH stays one batch: every acknowledgment goes before any staff mail."""
    monkeypatch.setattr(cycle_module, "BATCH", 50)
    w = world(book, templates)
    people = tuple(f"person{i}@customer.test" for i in range(60))
    for person in people:
        w.mailbox.deliver(incoming(person, "Жалоба", "Заказ пришёл разбитым."), NOW)
    taken = [0]  # messages decided so far (counted on the cycle's thread)

    def counting(*args: object) -> object:
        taken[0] += 1
        return intake(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(cycle_module, "intake", counting)
    calls: list[tuple[int, int]] = []  # (acknowledgments in the call, messages decided then)
    send_many = w.sender.send_many

    def recording(envs: list) -> list:  # type: ignore[type-arg]
        calls.append((sum(1 for e in envs if e.recipients[0] in people), taken[0]))
        return send_many(envs)

    w.sender.send_many = recording  # type: ignore[method-assign]
    w.cycle()
    acks = [c for c in calls if c[0]]
    assert [n for n, _ in acks] == [10, 20, 30]  # FIRST_BATCH, then twice the last
    assert acks[0][1] <= 10 + 20  # the first went while the rest was still to be decided
    assert w.cases_by_sender() == dict.fromkeys(people, 1)

    monkeypatch.setattr(cycle_module, "BATCH", 100)
    calls.clear()
    burst = tuple(f"burst{i}@customer.test" for i in range(60))
    people = burst
    for person in burst:
        w.mailbox.deliver(incoming(person, "Жалоба", "Заказ пришёл разбитым."), NOW)
    w.cycle()
    assert [n for n, _ in calls if n] == [60]  # one batch: its acknowledgments all go first


def test_the_switch_interval_is_short_while_a_batch_is_in_flight(
    book: RuleBook, templates: Templates
) -> None:
    """While the worker sends, the cycle's thread holds the GIL for SWITCH_INTERVAL at most
    (a reply is not kept waiting 5 ms behind the deciding); afterwards it is as it was."""
    from daemon.service import outbox

    w = world(book, templates)
    arrive(w.mailbox)
    seen: list[float] = []
    send_many = w.sender.send_many

    def recording(envs: list) -> list:  # type: ignore[type-arg]
        seen.append(sys.getswitchinterval())
        return send_many(envs)

    w.sender.send_many = recording  # type: ignore[method-assign]
    before = sys.getswitchinterval()
    w.cycle()
    assert seen and all(s <= outbox.SWITCH_INTERVAL for s in seen)
    assert sys.getswitchinterval() == before
