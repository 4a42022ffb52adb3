"""Robots' mail: which of it opens no case, and the per-day count the reports read. Pure.

Bounces not of our mail, delivery reports, others' auto-replies, lists, bulk and spam-flagged
mail are filed in `Feedback/Automatic`, counted, and open no case (daemon.core.triage), so a
bounce storm cannot become complaint cases with owner notices, nor inflate the figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from daemon.core.mail.message import Message
from daemon.core.mail.policy import KINDS, automatic_markers
from daemon.core.rules import PolicySettings

#: Robots' mail that is no bounce of ours and continues no case: filed here, counted, no case.
AUTOMATIC_FOLDER = "Feedback/Automatic"
#: The kinds of automatic mail (triage.AUTOMATIC) that open no case: mail systems,
#: autoresponders, lists, bulk, reports and spam. Not `noreply` (a web form relays a customer
#: from a no-reply sender) and not `no_sender` (a person's broken mail program): those still
#: reach the center as a case.
NO_CASE = frozenset({"bounce", "auto_reply", "list", "bulk", "report", "spam"})
#: The store's meta key counting automatic mail per day (rules' timezone), for the reports.
AUTOMATIC_DAY = "automatic:{}"


def robot_kind(
    msg: Message, policy: PolicySettings, own_addresses: frozenset[str]
) -> tuple[str, str] | None:
    """(kind, reasons) when the message itself says a robot wrote it (a `NO_CASE` kind)."""
    markers = automatic_markers(msg, policy, own_addresses)
    kinds = [m.kind for m in markers if m.kind in NO_CASE]
    if not kinds:
        return None
    return min(kinds, key=KINDS.index), "; ".join(m.reason for m in markers)


def automatic_counts(meta: Mapping[str, object]) -> dict[date, int]:
    """The store's per-day counts of automatic mail (`AUTOMATIC_DAY`), for the reports."""
    out: dict[date, int] = {}
    for key, value in meta.items():
        if key.startswith("automatic:") and isinstance(value, int):
            try:
                out[date.fromisoformat(key.removeprefix("automatic:"))] = value
            except ValueError:
                continue
    return out
