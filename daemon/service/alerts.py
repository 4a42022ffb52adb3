"""Health alerts to the feedback center: the daemon says itself when it cannot do its job.

Operators do not watch logs; the feedback center reads mail. Each alert kind is sent at most
once per ALERT_EVERY (the time is kept in the store), through the same outbox as every other
mail — so an SMTP outage delays an alert but never loses it. Pure decisions; the caller queues.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from daemon.adapters.storage.status_file import PollState
from daemon.adapters.storage.store import Store
from daemon.core.mail.compose import Rendered, build_mail, new_message_id, wire
from daemon.core.records import OutMail, outmail, stamp
from daemon.core.rules import RuleBook
from daemon.errors import AuthRefused

ALERT_EVERY = timedelta(hours=6)
FAILED_POLLS = 3


def due_alerts(
    store: Store,
    poll: PollState,
    book: RuleBook,
    now: datetime,
    backlog_after_cycle: int | None = None,
    failure: Exception | None = None,
) -> list[tuple[str, str]]:
    """(kind, sentence) for each problem that deserves a mail now.

    `failure` is the error of the poll that just failed: a refused login is told apart by its
    type (a person must fix the password), not by the words of a server's message.
    """
    found: list[tuple[str, str]] = []
    if poll.consecutive_failures >= FAILED_POLLS:
        if isinstance(failure, AuthRefused):
            found.append(("auth", f"the mail server refuses our login: {poll.last_error}"))
        else:
            found.append(
                ("polls", f"{poll.consecutive_failures} polls in a row failed: {poll.last_error}")
            )
    if poll.smtp_refused:
        # At once, not after three polls: a refused login does not mend itself. This mail
        # waits in the outbox with the rest and goes out, late, once the login works;
        # `feedbackd status` (critical) is what monitoring sees meanwhile.
        found.append(
            (
                "smtp-auth",
                f"the submission server refuses our login: {poll.smtp_refused}. "
                "Acknowledgments and notices wait in the outbox and go out once it "
                "accepts the login",
            )
        )
    last_mail = store.meta_time("last_mail_at")
    silence = book.policy.alert_silence
    if last_mail is not None and silence and last_mail < now - silence:
        # Once per quiet spell (the kind names the last mail), not every six hours.
        since = stamp(last_mail)  # as stored: the kind of an alert already sent stays the same
        found.append(
            (
                f"silence since {since}",
                f"no mail has arrived since {since}: "
                "is the feedback address still delivered to this mailbox?",
            )
        )
    if backlog_after_cycle:
        found.append(
            (
                "gap",
                f"{backlog_after_cycle} messages in INBOX are not in the ledger after a full cycle",
            )
        )
    return [(k, s) for k, s in found if _not_recently(store, k, now)]


def _not_recently(store: Store, kind: str, now: datetime) -> bool:
    last = store.meta_time(f"alert:{kind}")
    if kind.startswith("silence"):
        return last is None
    return last is None or last <= now - ALERT_EVERY


def queue_alert(
    store: Store, book: RuleBook, address: str, kind: str, sentence: str, now: datetime
) -> OutMail:
    center = book.owners[book.center]
    text = (
        f"feedbackd on {address} needs attention:\n\n  {sentence}\n\n"
        "Run `feedbackd status` on the server and see the service log "
        "(journalctl -u feedbackd).\nThis alert repeats at most every 6 hours.\n"
    )
    mid = new_message_id(address.rpartition("@")[2])
    msg = build_mail(
        sender=address,
        sender_name="feedbackd",
        to=center.email,
        rendered=Rendered(f"feedbackd alert: {kind.split()[0]}", text),
        message_id=mid,
        now=now,
        automatic=False,
        extra_headers={"Auto-Submitted": "auto-generated"},
    )
    mail = outmail(
        mail_id=mid, kind="alert", sender=address, to=(center.email,), raw=wire(msg), now=now
    )
    store.put_outmail(mail)
    store.set_meta_time(f"alert:{kind}", now)
    return mail
