"""The twins keep the adapters' contracts, or the fast tests would prove the wrong thing.

Each behaviour here is one that daemon.adapters.mail.imap / smtp document and the service relies
on: the size limit of a fetch, a move of exactly the UIDs named, a header search by substring,
one result per envelope with the adapter's error types.
"""

from __future__ import annotations

from datetime import UTC, datetime

from twins import MemoryMailbox, RecordingSender, incoming

from daemon.adapters.mail.imap import LARGE_HEAD
from daemon.adapters.mail.smtp import Envelope
from daemon.errors import PermanentSendError, TransientError

WHEN = datetime(2026, 3, 3, 5, 0, tzinfo=UTC)


def test_fetch_reads_a_message_over_the_limit_as_its_header_and_the_start_of_its_body() -> None:
    box = MemoryMailbox()
    small = box.deliver(incoming("a@x.test", "small", "hello"), WHEN)
    big = box.deliver(incoming("b@x.test", "big", "x" * (3 * LARGE_HEAD)), WHEN)
    got = {f.uid: f for f in box.fetch([big, small, 99], max_size=LARGE_HEAD)}
    assert sorted(got) == [small, big]  # a UID that is not there is skipped
    assert not got[small].truncated and got[small].internaldate == WHEN
    assert got[big].truncated and got[big].size > 3 * LARGE_HEAD
    assert got[big].raw.startswith(b"From: b@x.test") and len(got[big].raw) < got[big].size
    assert len(got[big].raw.partition(b"\n\n")[2]) == LARGE_HEAD
    assert not box.fetch([big])[0].truncated  # no limit, no cut


def test_move_takes_exactly_the_uids_named_and_uids_are_never_reused() -> None:
    box = MemoryMailbox()
    uids = [box.deliver(incoming(f"{n}@x.test", "s", "b")) for n in range(3)]
    box.move([uids[0], uids[2], 42], "Feedback/Thanks")
    assert box.inbox_uids() == [uids[1]]
    assert box.count("Feedback/Thanks") == 2 and box.count("Nowhere") == 0
    assert box.deliver(incoming("new@x.test", "s", "b")) > max(uids)


def test_header_search_and_take_back_find_messages_by_message_id() -> None:
    box = MemoryMailbox()
    uid = box.deliver(incoming("a@x.test", "s", "b", message_id="<Ours.1@example.test>"))
    box.move([uid], "Quarantine")
    assert box.search_header("Quarantine", "Message-ID", "<ours.1@example.test>") == [1]
    assert box.search_header("Sent", "Message-ID", "<ours.1@example.test>") == []
    assert box.take_back("Quarantine", ["<Ours.1@example.test>"]) == 1
    assert box.count("Quarantine") == 0 and len(box.inbox_uids()) == 1


def test_the_sender_answers_per_envelope_with_the_adapters_error_types() -> None:
    box = MemoryMailbox()
    sender = RecordingSender({"feedback@example.test": box})
    sender.refuse("gone@x.test")
    sender.fail_next()
    envs = [
        Envelope("feedback@example.test", (to, "feedback@example.test"), b"Subject: s\r\n\r\nb")
        for to in ("first@x.test", "gone@x.test", "ok@x.test")
    ]
    transient, permanent, ok = sender.send_many(envs)
    assert isinstance(transient, TransientError) and not transient.maybe_sent
    assert isinstance(permanent, PermanentSendError) and permanent.code == 550
    assert ok is None
    assert sender.sent == [envs[2]] and len(box.inbox_uids()) == 1  # our copy of the one sent
