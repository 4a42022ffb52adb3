"""Casework's store half: the key of the command tokens, and queueing a composed mail.

What a message means for a case that exists is decided in daemon.core.followups, and intake
applies it. What is left here touches the store directly, for the callers that are not intake:
the command secret is made once (entropy, kept in the 0600 store) and read by every cycle, and
the timed duties queue their reminders and escalations through `queue`.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from email.message import EmailMessage

from daemon.adapters.storage.store import Store
from daemon.core.mail.outgoing import owed
from daemon.core.mail.staff import NoticeDesk
from daemon.core.records import OutMail


def command_secret(store: Store) -> bytes:
    """The key of the per-case tokens: made once, kept in the (0600) store."""
    value = store.meta("command_secret")
    if not value:
        value = secrets.token_hex(32)
        store.set_meta("command_secret", value)
    return bytes.fromhex(value)


def queue(
    store: Store,
    desk: NoticeDesk,
    msg: EmailMessage,
    kind: str,
    case_id: str | None,
    to: str,
    now: datetime,
) -> OutMail:
    """Every mail also goes to the feedback address: the copy proves it went out (see outbox)."""
    mail = owed(desk, msg, kind, case_id, to, now)
    store.put_outmail(mail)
    return mail
