"""Triage: what one message from the INBOX means, decided and not yet done.

The questions are asked in an order that never answers a machine and never opens a case twice:
is it our own mail coming back (filed in Sent)? a message at all (else quarantined)? one already
seen under another UID (a duplicate)? an owner's command? an employee's explanation? a bounce
of our mail? a message in a case's thread (joined; the customer's answer to "was it solved?"
first, daemon.core.replies)? a robot's mail, or a `case: none` rule's match (filed in
Feedback/Automatic and counted, no case: daemon.core.automatic)? Only then is it a new case:
classified, given its due date, acknowledged if the policy and the category allow, its owner
told. The answer is a `Plan`: the outcome, the ledger entry, the cases to write, the mail to
queue, the store's meta to set and the lines to log. Nothing here writes: the service applies
a plan through one function, so the store holds all of a message's outcome or none of it, and
a test or a dry run can read the plan itself.

Mail older than the first run's horizon (or `feedbackd import --before`) is history unless
`first_run: triage` says otherwise: a closed case (its `imported` event says why) classified and
counted, or, with `skip`, only a ledger entry; no mail to anyone either way.

The store is seen through `Known`, the few reads triage needs; time, fresh Message-IDs and the
command secret are arguments (`now`, `Frame`), so the same message always gets the same plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from daemon.core import cases as lifecycle
from daemon.core.automatic import AUTOMATIC_DAY, AUTOMATIC_FOLDER, NO_CASE, robot_kind
from daemon.core.cases import Case
from daemon.core.followups import (
    Followup,
    Level,
    LogLine,
    MetaValue,
    bounce_of_ours,
    command,
    in_thread,
    quiet_join,
)
from daemon.core.frame import Arrival as Arrival
from daemon.core.frame import Frame as Frame
from daemon.core.frame import Known as Known
from daemon.core.learning import WORDS_KEY, message_words
from daemon.core.mail.message import Message, message_id_of, parse
from daemon.core.mail.policy import (
    SenderHistory,
    Verdict,
    reply_target,
    should_acknowledge,
)
from daemon.core.new_case import acknowledgment, on_open, open_case, skip_reasons
from daemon.core.records import LedgerEntry, OutMail
from daemon.core.replies import explanation_reply, solved_reply
from daemon.core.rules import FirstRun, RuleBook
from daemon.core.threads import thread_case, thread_of
from daemon.errors import BadMessage

QUARANTINE = "Quarantine"
SENT = "Sent"
BOUNCES = "Feedback/Bounces"
COMMANDS = "Feedback/Commands"
#: Verdict kinds that mean a machine wrote: never answered, never obeyed, never a "reply".
AUTOMATIC = frozenset(
    {"bounce", "auto_reply", "list", "bulk", "report", "spam", "noreply", "no_sender"}
)
TRUNCATED = "over the size limit: attachments not read"
HISTORY = "received before the daemon's first run (or an import): history, nobody was mailed"


class Outcome(StrEnum):
    """What a message turned out to be; the values are the ledger's strings."""

    CASE = "case"
    JOINED = "joined"
    COMMAND = "command"
    DUPLICATE = "duplicate"
    OWN = "own"
    BOUNCE = "bounce"
    AUTOMATIC = "automatic"  # a robot's mail, or a rule's `case: none`: filed, counted, no case
    QUARANTINED = "quarantined"
    EXPLANATION = "explanation"  # an employee's written explanation, to its case
    HISTORY = "history"  # older than the first run's horizon: a closed history case
    SKIPPED = "skipped"  # older than the horizon, `first_run: skip`: filed, no case


@dataclass(frozen=True)
class Plan:
    """Everything one message changes, to be applied at once (service/intake.apply)."""

    outcome: Outcome
    ledger: LedgerEntry
    cases: tuple[Case, ...] = ()  # each case as it is to be written, new or changed
    mail: tuple[OutMail, ...] = ()  # to queue, in this order
    meta: Mapping[str, MetaValue] = field(default_factory=dict)  # times kept as times
    log: tuple[LogLine, ...] = ()

    @property
    def case_id(self) -> str | None:
        return self.ledger.case_id

    @property
    def reason(self) -> str:
        return self.ledger.reason


def triage(arrival: Arrival, frame: Frame, known: Known, now: datetime) -> Plan:
    """The plan for one message. A ConfigError (a template or rule problem) is raised: the
    message waits in INBOX for the fix. Any other exception is the caller's to quarantine."""
    plan = _decide(arrival, frame, known, now)
    if plan.outcome is Outcome.OWN:
        return plan
    return replace(plan, meta={**plan.meta, "last_mail_at": now})


def quarantined(arrival: Arrival, reason: str, now: datetime, *log: LogLine) -> Plan:
    """Kept aside for a person to look at; `feedbackd reprocess` takes it again."""
    entry = _entry(arrival, now, Outcome.QUARANTINED, QUARANTINE, reason=reason)
    return Plan(Outcome.QUARANTINED, entry, log=log)


def _decide(arrival: Arrival, frame: Frame, known: Known, now: datetime) -> Plan:
    quick = message_id_of(arrival.raw)
    if quick and (ours := known.outmail(quick)) is not None:
        return Plan(Outcome.OWN, _entry(arrival, now, Outcome.OWN, SENT, ours.case_id, "", quick))
    try:
        msg = parse(arrival.raw)
    except BadMessage as exc:
        said = LogLine(Level.WARNING, f"uid {arrival.uid} quarantined: {exc}")
        return quarantined(arrival, str(exc), now, said)
    mid = msg.message_id
    if mid and mid != quick and (ours := known.outmail(mid)) is not None:
        return Plan(Outcome.OWN, _entry(arrival, now, Outcome.OWN, SENT, ours.case_id, "", mid))
    seen = known.ledger_by_message_id(mid)
    if seen is not None:
        # Same message under a new UID (UIDVALIDITY change, or copied back): never a 2nd case.
        why = f"same Message-ID as {seen.key}"
        entry = _entry(arrival, now, Outcome.DUPLICATE, seen.folder, seen.case_id, why, mid)
        return Plan(Outcome.DUPLICATE, entry)
    return _answer(msg, arrival, frame, known, now)


def _answer(msg: Message, arrival: Arrival, frame: Frame, known: Known, now: datetime) -> Plan:
    """A message of someone else's, seen for the first time."""
    if frame.is_history(arrival, now):
        return _history(msg, arrival, frame, known, now)
    policy = frame.book.policy
    target = reply_target(msg, policy, frame.own_addresses)
    history = sender_history(known, target) if target else SenderHistory()
    verdict = should_acknowledge(msg, history, now, policy, frame.own_addresses)
    automatic = verdict.kind in AUTOMATIC
    notices, new_id = frame.notices, frame.new_id
    if (ordered := command(known, notices, msg, now, automatic, new_id)) is not None:
        return _planned(Outcome.COMMAND, COMMANDS, ordered, arrival, msg, now)
    given = explanation_reply(known, notices, msg, arrival.raw, now, automatic, new_id)
    if given is not None:
        case = known.case(given.case_id or "")
        folder = frame.book.categories[case.category].folder if case else COMMANDS
        return _planned(Outcome.EXPLANATION, folder, given, arrival, msg, now)
    if verdict.kind == "bounce":
        bounced = bounce_of_ours(known, notices, msg, arrival.raw, now, new_id)
        if bounced is not None:
            return _planned(Outcome.BOUNCE, BOUNCES, bounced, arrival, msg, now)
    thread = thread_of(known, frame.book, notices.address, msg)
    existing = thread.case
    if existing is None:
        return _open(msg, arrival, verdict, frame, known, now, thread.claimed)
    folder = frame.book.categories[existing.category].folder
    answered = None if automatic else solved_reply(notices, existing, msg, arrival.raw, now, new_id)
    if answered is not None:
        return _planned(Outcome.JOINED, folder, answered, arrival, msg, now)
    joined = in_thread(
        known,
        notices,
        existing,
        msg,
        arrival.raw,
        now,
        automatic=verdict.kind if automatic else "",
        reply_to=verdict.reply_to if verdict.acknowledge else None,
        new_id=new_id,
    )
    return _planned(Outcome.JOINED, folder, joined, arrival, msg, now)


def _history(msg: Message, arrival: Arrival, frame: Frame, known: Known, now: datetime) -> Plan:
    """Old mail: classified and kept for the reports; no command obeyed, no bounce handled, no
    mail to anyone. A message in the thread of a case already recorded joins it quietly."""
    skip = frame.book.policy.first_run is FirstRun.SKIP
    existing = None if skip else thread_case(known, frame.book, frame.notices.address, msg)
    if existing is not None:
        folder = frame.book.categories[existing.category].folder
        return _planned(Outcome.JOINED, folder, quiet_join(existing, msg, now), arrival, msg, now)
    robot = robot_kind(msg, frame.book.policy, frame.own_addresses)
    if robot is not None:  # robots are no history either: counted as automatic, no case
        return _automatic(arrival, frame, known, now, *robot, msg.message_id)
    decision = frame.classify(msg, frame.book)
    folder = frame.book.categories[decision.category].folder
    if skip:
        why = "older than the first run's backfill horizon (first_run: skip)"
        entry = _entry(arrival, now, Outcome.SKIPPED, folder, None, why, msg.message_id)
        return Plan(Outcome.SKIPPED, entry)
    received = arrival.internaldate or now
    seq = f"case_seq:{received.year}"
    number = int(known.meta(seq) or 0) + 1
    case = open_case(frame, msg, decision, received, lifecycle.case_id(received.year, number))
    before = frame.backfill_before or now
    case = lifecycle.apply(case, "imported", now, reason=HISTORY, before=before.isoformat())
    reason = TRUNCATED if arrival.truncated else ""
    entry = _entry(arrival, now, Outcome.HISTORY, folder, case.id, reason, msg.message_id)
    return Plan(Outcome.HISTORY, entry, cases=(case,), meta={seq: number})


def sender_history(known: Known, address: str) -> SenderHistory:
    """What the rate limits and the quiet period after a hard bounce look at."""
    return SenderHistory(
        acks=tuple(known.ack_times(address)),
        hard_bounce_until=known.meta_time(f"hard_bounce:{address}"),
    )


def _open(
    msg: Message,
    arrival: Arrival,
    verdict: Verdict,
    frame: Frame,
    known: Known,
    now: datetime,
    claimed: Case | None = None,
) -> Plan:
    """A new case: numbered, due, acknowledged (or why not), its owner told. `claimed`: a case
    the message named but may not join; both cases get a note naming the other."""
    if verdict.kind in NO_CASE:
        why = "; ".join(verdict.reasons)
        return _automatic(arrival, frame, known, now, verdict.kind, why, msg.message_id)
    decision = frame.classify(msg, frame.book)
    if not decision.opens_case:
        why = f"rule {decision.rule}: case: none"
        return _automatic(arrival, frame, known, now, "rule", why, msg.message_id)
    received = arrival.internaldate or now
    seq = f"case_seq:{received.year}"
    number = int(known.meta(seq) or 0) + 1
    case = open_case(frame, msg, decision, received, lifecycle.case_id(received.year, number))
    category = frame.book.categories[decision.category]
    backfill = (
        frame.backfill_before is not None
        and received < frame.backfill_before
        and not frame.book.policy.backfill_acknowledge
    )
    mail: tuple[OutMail, ...] = ()
    if category.acknowledge and verdict.acknowledge and verdict.reply_to and not backfill:
        ack = acknowledgment(frame, msg, case, verdict.reply_to, now)
        mail, unsaid = (ack,), ""
        case = lifecycle.apply(case, "ack_sent", now, message_id=ack.id)
    else:
        reasons = list(skip_reasons(category.acknowledge, verdict, backfill))
        unsaid = f" (not acknowledged: {verdict.kind})"
        kind = "backfill" if backfill else verdict.kind  # a person or a robot, for later mail
        case = lifecycle.apply(case, "ack_skipped", now, reasons=reasons, kind=kind)
    linked: tuple[Case, ...] = ()
    if claimed is not None:
        case = lifecycle.apply(case, "note", now, text=_NAMES.format(claimed.id), linked=claimed.id)
        other = lifecycle.apply(claimed, "note", now, text=_NAMED.format(case.id), linked=case.id)
        linked = (other,)
    automatic = verdict.kind in AUTOMATIC
    case, told, marks = on_open(frame, known, case, msg, arrival.raw, now, claimed, automatic)
    reason = TRUNCATED if arrival.truncated else ""
    entry = _entry(arrival, now, Outcome.CASE, category.folder, case.id, reason, msg.message_id)
    said = f"opened: {case.category} by rule {decision.rule}{unsaid}"
    return Plan(
        Outcome.CASE,
        entry,
        cases=(case, *linked),
        mail=(*mail, *told),
        meta={seq: number, **marks, WORDS_KEY.format(case.id): _words(msg, frame.book)},
        log=(LogLine(Level.INFO, said, case.id),),
    )


def _automatic(
    arrival: Arrival,
    frame: Frame,
    known: Known,
    now: datetime,
    kind: str,
    why: str,
    message_id: str = "",
) -> Plan:
    """Mail that opens no case and is answered by nobody: a robot's (a bounce not of ours, an
    auto-reply, a list, bulk, a delivery report, spam) or what a `case: none` rule matched.
    Filed in `Feedback/Automatic` and counted per day for the reports."""
    day = AUTOMATIC_DAY.format(frame.calendar.local(arrival.internaldate or now).date())
    reason = f"{kind}: {why}"[:300]
    entry = _entry(arrival, now, Outcome.AUTOMATIC, AUTOMATIC_FOLDER, None, reason, message_id)
    said = LogLine(Level.INFO, f"uid {arrival.uid}: automatic mail, no case ({reason})")
    return Plan(Outcome.AUTOMATIC, entry, meta={day: int(known.meta(day) or 0) + 1}, log=(said,))


def _words(msg: Message, book: RuleBook) -> Mapping[str, list[str]]:
    """The words of a new case's letter, kept for the lesson a person's correction (or
    confirmation) of the case will teach the learned model (daemon.core.learning)."""
    return {"words": list(message_words(msg, book))}


_NAMES = "names {} but is not from its customer nor a reply to our mail in it: a case of its own"
_NAMED = "named by {}, which came from someone else: opened as a case of its own"


def _planned(
    outcome: Outcome, folder: str, step: Followup, arrival: Arrival, msg: Message, now: datetime
) -> Plan:
    """The plan of a message that changes a case that exists (or names one, for a command)."""
    entry = _entry(arrival, now, outcome, folder, step.case_id, "", msg.message_id)
    cases = () if step.case is None else (step.case,)
    return Plan(outcome, entry, cases, step.mail, step.meta, step.log)


def _entry(
    arrival: Arrival,
    now: datetime,
    outcome: Outcome,
    folder: str,
    case_id: str | None = None,
    reason: str = "",
    message_id: str = "",
) -> LedgerEntry:
    return LedgerEntry(
        arrival.uidvalidity,
        arrival.uid,
        message_id,
        outcome.value,
        folder,
        False,
        case_id,
        reason,
        now,
    )
