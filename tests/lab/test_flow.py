"""Issue #2 acceptance: mail flows end to end on the real lab (Dovecot + SMTP on loopback).

The three-message flow and the acknowledgment while `run` waits take `flavoured_desk`, so they
run on every server layout of the lab and on Postfix as the submission server (issue #15):
folders are looked up by the server's name of each of ours (`desk.lab.folder`), and the
acknowledgment's latency is printed per flavour (`pytest -s -k latency tests/lab/test_flow.py`).
The longer tests run on today's Dovecot.

Commands run in this process (`Desk.cli`) where a test is about what they do; the run after a
kill and `run` itself are processes of their own.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from support import REPO, Desk

#: FEEDBACKD_POLL_INTERVAL for the flavour without IDLE: short, so the test takes seconds, and
#: the acknowledgment's bound is this interval, not the 30 s default.
POLL = 2

THANKS = (
    "Спасибо!",
    "Хочу сказать огромное спасибо вашей команде: курьер привёз заказ "
    "вовремя, всё аккуратно упаковано. Благодарю за отличный сервис!",
)
COMPLAINT = (
    "Broken parcel",
    "I am writing to complain: my order #5521 arrived broken and "
    "nobody answers the phone. I am very disappointed with your service.",
)
OFFICIAL = (
    "Претензия",
    "ПРЕТЕНЗИЯ\nВ соответствии со ст. 18 Закона РФ «О защите прав "
    "потребителей» требую вернуть уплаченную сумму 15 000 руб. в течение 10 дней. "
    "В противном случае буду вынужден обратиться в суд.",
)


def cases(desk: Desk) -> list[dict]:
    out = desk.cli("cases", "list", "--format", "json")
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_three_messages_three_cases_three_acks_and_a_quiet_second_run(
    flavoured_desk: Desk,
) -> None:
    desk = flavoured_desk
    name = desk.lab.folder
    senders = {
        "thanks": desk.customer("anna"),
        "complaint": desk.customer("bob"),
        "official": desk.customer("ivan"),
    }
    mids = {
        cat: desk.send(senders[cat], *text)
        for cat, text in (("thanks", THANKS), ("complaint", COMPLAINT), ("official", OFFICIAL))
    }
    run = desk.cli("once")
    assert run.returncode == 0, run.stderr
    # Nothing to tell the feedback center: on a queueing server (Postfix) our copies arrive
    # after its 250, which is no gap in the ledger.
    assert "alert to the feedback center" not in run.stderr, run.stderr

    found = {c["category"]: c for c in cases(desk)}
    assert sorted(found) == ["complaint", "official", "thanks"]
    for cat, case in found.items():
        assert case["sender"] == senders[cat]
        assert case["message_id"] == mids[cat]
        assert case["id"].startswith(f"FB-{datetime.now().year}-")
    official = found["official"]
    received = datetime.fromisoformat(official["received"])
    due = datetime.fromisoformat(official["due"])
    # 10 calendar days from the day after receipt, moved past days off at most a few days.
    assert (
        received.date() + timedelta(days=10) <= due.date() <= received.date() + timedelta(days=16)
    )

    for cat, sender in senders.items():
        acks = desk.messages(sender)
        assert len(acks) == 1, f"{sender} got {len(acks)} acknowledgments"
        ack = acks[0]
        assert found[cat]["id"] in ack.subject
        assert ack.headers["in-reply-to"] == (mids[cat],)
        assert ack.headers["auto-submitted"] == ("auto-replied",)
        assert ack.from_ == desk.address

    folders = desk.folders()
    assert folders["INBOX"] == 0
    assert folders[name("Feedback/Thanks")] == 1
    assert folders[name("Feedback/Complaints")] == 1
    assert folders[name("Feedback/Official")] == 1
    # Our copy of each mail: 3 acknowledgments, 2 owner notices, and the thanks passed to the
    # team, which owns the thanks case too: one mail to it, not a notice beside the thanks;
    # in the server's own \Sent folder and in no second one of ours.
    assert folders[name("Sent")] == 6
    ours = {name(f"Feedback/{f}") for f in ("Thanks", "Complaints", "Official")}
    assert sorted(folders) == sorted({"INBOX", name("Sent")} | ours)

    journal = desk.db.with_name(desk.db.name + ".journal")
    store_before = desk.db.read_bytes() + (journal.read_bytes() if journal.exists() else b"")
    again = desk.cli("once")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("0 new"), again.stdout
    assert "alert to the feedback center" not in again.stderr, again.stderr
    assert (
        desk.db.read_bytes() + (journal.read_bytes() if journal.exists() else b"") == store_before
    )
    assert desk.folders() == folders
    for sender in senders.values():
        assert len(desk.messages(sender)) == 1


def test_run_acknowledges_mail_that_arrives_while_idling_latency(flavoured_desk: Desk) -> None:
    """Within a few seconds where the server has IDLE; within the poll interval without."""
    desk = flavoured_desk
    idle = "IDLE" in (desk.lab.flavour.capability or "IDLE")
    limit = 5.0 if idle else POLL + 5.0  # a poll, then one cycle and the SMTP round trip
    proc = desk.start(dict(desk.env, FEEDBACKD_POLL_INTERVAL=str(POLL)))
    try:
        time.sleep(1.5)  # connected and idling
        customer = desk.customer("idle")
        sent_at = time.monotonic()
        desk.send(customer, *THANKS)
        waited = None
        while time.monotonic() - sent_at < limit * 2:
            if desk.messages(customer):
                waited = time.monotonic() - sent_at
                break
            time.sleep(0.1)
        assert waited is not None, f"no acknowledgment within {limit * 2:.0f} s"
        print(f"\n[{desk.lab.flavour.name}] acknowledged by `run` in {waited:.2f} s")
        assert waited < limit
        assert proc.poll() is None, "the daemon exited"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err


CRASH_BEFORE_FILING = """
import os, sys
import daemon.service.cycle
original = daemon.service.cycle.file_messages
def file_messages(store, mailbox, uidvalidity, *rest):
    if store.unfiled(uidvalidity):
        os.kill(os.getpid(), 9)  # the case and its ack are stored, the move has not happened
    return original(store, mailbox, uidvalidity, *rest)
daemon.service.cycle.file_messages = file_messages
from daemon.cli import main
sys.exit(main(["once"]))
"""


def test_killed_after_storing_before_moving_loses_nothing_and_acks_once(desk: Desk) -> None:
    """The acknowledgment is handed to the sender before the original is filed, so a kill at
    the filing may catch it mid-send: it is sent again only when our copy has not arrived
    within `resend_grace` — 0 s here, as the lab's server delivers before it answers."""
    text = desk.rules.read_text(encoding="utf-8")
    assert "resend_grace: 5m" in text
    desk.rules.write_text(text.replace("resend_grace: 5m", "resend_grace: 0s"), encoding="utf-8")
    customer = desk.customer("kill")
    desk.send(customer, *COMPLAINT)
    crashed = subprocess.run(
        [sys.executable, "-c", CRASH_BEFORE_FILING],
        env=desk.env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    assert len(cases(desk)) == 1
    assert desk.folders()["INBOX"] >= 1  # the original is still there

    again = desk.feedbackd("once")
    assert again.returncode == 0, again.stderr
    assert len(cases(desk)) == 1
    assert len(desk.messages(customer)) == 1
    folders = desk.folders()
    assert folders["INBOX"] == 0
    assert folders["Feedback/Complaints"] == 1


def test_unparseable_message_is_quarantined_and_the_cycle_goes_on(desk: Desk) -> None:
    with desk.lab.mailbox(desk.address) as mb:
        mb.append(b"\x00\x01\x02 this is no mail at all\r\n", "INBOX")
    customer = desk.customer("after")
    desk.send(customer, *THANKS)
    run = desk.cli("once")
    assert run.returncode == 0, run.stderr
    assert "quarantined" in run.stderr
    folders = desk.folders()
    assert folders["Quarantine"] == 1
    assert folders["INBOX"] == 0
    assert len(cases(desk)) == 1
    assert len(desk.messages(customer)) == 1


def test_dry_run_shows_what_would_happen_and_changes_nothing(desk: Desk) -> None:
    customer = desk.customer("dry")
    desk.send(customer, *OFFICIAL)
    preview = desk.cli("once", "--dry-run", "--now", "2025-04-28T10:00")
    assert preview.returncode == 0, preview.stderr
    assert f"would send ack to {customer}" in preview.stdout
    assert "would move INBOX uid" in preview.stdout and "Feedback/Official" in preview.stdout
    assert "2025-04-28T10:00:00+03:00" in preview.stdout  # naive --now: the rules' timezone
    assert not desk.db.exists()
    assert desk.folders()["INBOX"] == 1
    assert desk.messages(customer) == []


def test_weekly_digest_goes_out_once_on_monday(desk: Desk) -> None:
    env = dict(desk.env)
    env.pop("FEEDBACKD_RULES")  # the shipped rules, digest included
    desk.send(desk.customer("digest"), *COMPLAINT)
    # The first cycle on a Wednesday: the digest's first period starts that day, not a week
    # before the daemon existed.
    assert desk.cli("once", "--now", "2026-11-18T12:00", env=env).returncode == 0
    monday = "2026-11-23T09:30"  # a Monday, after the digest time (09:00 Moscow)
    first = desk.cli("once", "--now", monday, env=env)
    assert first.returncode == 0, first.stderr
    assert desk.cli("once", "--now", "2026-11-23T10:30", env=env).returncode == 0
    digests = [
        m
        for m in desk.messages("center@example.test")
        # in the center's language; imap-tools drops the space after an encoded word
        if m.subject.startswith("Сводка обратной связи") and "2026-11-18 –" in m.subject
    ]
    assert len(digests) == 1, [m.subject for m in desk.messages("center@example.test")]
    assert {p.get_content_type() for p in digests[0].obj.walk()} >= {"text/plain", "text/html"}


def _refuse_complaints_folder(desk: Desk) -> None:
    """A folder name the server will not create ("Mailbox name too long")."""
    rules = desk.rules.read_text(encoding="utf-8")
    desk.rules.write_text(
        rules.replace("folder: Feedback/Complaints", "folder: Feedback/" + "x" * 300),
        encoding="utf-8",
    )


def test_a_folder_the_server_refuses_leaves_the_mail_in_inbox_and_one_alert(desk: Desk) -> None:
    _refuse_complaints_folder(desk)
    complainer, thanker = desk.customer("refused"), desk.customer("filed")
    desk.send(complainer, *COMPLAINT)
    desk.send(thanker, *THANKS)
    first = desk.cli("once")
    assert first.returncode == 0, first.stderr
    told = [line for line in first.stderr.splitlines() if "Mailbox name too long" in line]
    assert len(told) == 1, first.stderr
    assert "stay in INBOX" in told[0] and "rules.yaml" in told[0]
    folders = desk.folders()
    assert folders["INBOX"] == 1  # the complaint, where it was
    assert folders["Feedback/Thanks"] == 1
    assert len(desk.messages(complainer)) == 1 and len(desk.messages(thanker)) == 1
    second = desk.cli("once")
    assert second.returncode == 0, second.stderr
    alerts = [
        m for m in desk.messages("center@example.test") if m.subject == "feedbackd alert: folder"
    ]
    assert len(alerts) == 1
    assert "Mailbox name too long" in alerts[0].text


def test_without_uidplus_a_message_someone_else_deleted_is_never_expunged(
    labs: object, tmp_path: Path
) -> None:
    desk = Desk(labs["minimal"], tmp_path)  # type: ignore[index]  # conftest's Labs
    _refuse_complaints_folder(desk)
    desk.send(desk.customer("stays"), *COMPLAINT)
    assert desk.cli("once").returncode == 0
    assert desk.folders()["INBOX"] == 1  # our copies were expunged: nothing else was \Deleted
    with desk.lab.mailbox(desk.address) as mb:  # a person deletes it in a mail client
        # By hand: imap-tools' flag() sends a folder-wide EXPUNGE after every STORE.
        assert mb.client.uid("STORE", "1:*", "+FLAGS", r"(\Deleted)")[0] == "OK"
    thanker = desk.customer("thanks")
    desk.send(thanker, *THANKS)
    run = desk.cli("once")
    assert run.returncode == 0, run.stderr
    assert "other messages there are \\Deleted by someone else" in run.stderr
    inbox = desk.messages(desk.address)
    theirs = [m for m in inbox if "$Filed" not in m.flags]
    assert [m.subject for m in theirs] == [COMPLAINT[0]]  # still there, still \Deleted
    assert all("\\Deleted" in m.flags for m in inbox)
    assert desk.folders()["Feedback/Thanks"] == 1
    assert len(desk.messages(thanker)) == 1


UNREADABLE_MESSAGE = """
import sys
from daemon.adapters.mail import imap
original = imap.Mailbox.fetch
def fetch(self, uids, max_size=None):  # a message the server lists but never returns
    return [f for f in original(self, uids, max_size) if b"X-Lab-Unreadable" not in f.raw]
imap.Mailbox.fetch = fetch
from daemon.cli import main
sys.exit(main(["once"]))
"""


def test_a_real_gap_is_still_told_while_our_copies_are_in_postfix_queue(
    labs: object, tmp_path: Path
) -> None:
    desk = Desk(labs["postfix"], tmp_path)  # type: ignore[index]  # conftest's Labs
    complainer = desk.customer("gap")
    desk.send(complainer, *COMPLAINT)
    desk.send(desk.customer("lost"), *THANKS, headers={"X-Lab-Unreadable": "yes"})
    run = subprocess.run(
        [sys.executable, "-c", UNREADABLE_MESSAGE],
        env=desk.env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    told = [line for line in run.stderr.splitlines() if "not in the ledger" in line]
    # The one message never taken in, not our two copies (acknowledgment, owner notice).
    assert len(told) == 1, run.stderr
    assert "1 messages in INBOX" in told[0], run.stderr
    [ack] = desk.messages(complainer)
    received = " ".join(ack.headers["received"])
    assert "(Postfix)" in received and "ESMTPSA" in received  # through Postfix, TLS and AUTH
    folders = desk.folders()
    assert folders["Feedback/Complaints"] == 1 and folders["Sent"] == 2  # our copies came
    assert THANKS[0] in [m.subject for m in desk.messages(desk.address)]  # still in INBOX
