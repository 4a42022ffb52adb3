"""Our own copies on their way back: what the INBOX means right after we sent mail.

Every mail we send is addressed to the feedback address too (core/records `outmail`): that copy
proves the mail went out and is filed in Sent. A submission server that queues (Postfix,
Exchange, Gmail) answers 250 when it has *queued* the mail, so the copy reaches the INBOX a
little later: 0.1-0.5 s with Postfix on the same host, seconds at a provider. Right after
sending, the INBOX can therefore be short of copies still coming, or hold copies that came after
the cycle last read it. Neither is a gap in the ledger, and the feedback center must not be told
"messages in INBOX are not in the ledger" after every cycle because of them.

So a mail of ours handed over less than the grace ago (the rules' `resend_grace`, the same
allowance the outbox makes before sending an interrupted mail again) whose copy has not been
taken in yet is *on its way*. The cycle waits a moment for such copies before it reads the
INBOX again, and the gap alert counts only the unknown messages those copies cannot explain;
a copy still missing after the grace excuses nothing, so a real gap is reported then.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from datetime import datetime, timedelta

from daemon.core.records import OutMail, OutState, moment


def copies_on_their_way(
    mail: Iterable[OutMail],
    arrived: Container[str],
    now: datetime,
    grace: timedelta,
    since: datetime | None = None,
) -> list[OutMail]:
    """The mail whose copy to our own address may still be in the submission server's queue.

    `arrived` holds the Message-IDs the ledger has taken in. A mail counts when the server
    accepted it (sent) or may have (a transaction broken off after the data: still `sending`),
    within `grace` of `now`; a refused mail is not waited for, its copy may never come. With
    `since`, only mail handed over since then counts (a cycle waits for its own mail's copies,
    not again for a copy an earlier cycle already waited for in vain)."""
    first = None if since is None else moment(since, "since")  # as the store keeps times
    out = []
    for m in mail:
        handed = _handed_over(m)
        if handed is None or m.sender.lower() not in {r.lower() for r in m.recipients}:
            continue
        if first is not None and handed < first:
            continue
        if now - grace < handed <= now and m.id not in arrived:
            out.append(m)
    return out


def unexplained(unknown: int, on_their_way: int) -> int:
    """How many of the INBOX's `unknown` messages (not in the ledger) are a gap to report.

    Each mail of ours brings back one copy, so at most `on_their_way` of them can be copies
    that came after the last look; only the rest is a gap."""
    return max(0, unknown - on_their_way)


def _handed_over(mail: OutMail) -> datetime | None:
    """When the server took the mail (or may have): None if it certainly did not."""
    if mail.state == OutState.SENT:
        return mail.sent_at
    if mail.state == OutState.SENDING:
        return mail.attempted_at
    return None
