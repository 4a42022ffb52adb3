"""The ports: what the service asks of the mailbox, the SMTP server and its own caller.

The use cases (cycle, intake, outbox) are written against these Protocols, not against the
IMAP and SMTP adapters, for two reasons. The order that loses no mail (commit, then file,
then send; look for our copy before sending again) is decided here, in the service, and must be
testable in milliseconds on in-memory twins (tests/twins.py), not only on a real Dovecot. And
the Protocols say in one page which few operations the service relies on, so an adapter knows
exactly which contract it keeps. The adapters satisfy them structurally (no inheritance);
mypy --strict checks that they do wherever a concrete adapter is passed in.

`CycleHooks` is the other direction: the points where the caller of a cycle looks in (the
service loop pets the watchdog after each commit and asks it to stop on SIGTERM; tests stop it
at a chosen step). `NO_HOOKS` is the default for callers that need neither.
"""

from __future__ import annotations

from typing import Protocol

from daemon.adapters.mail.imap import Fetched
from daemon.adapters.mail.smtp import Envelope
from daemon.core.progress import Reporter, silent


class MailboxPort(Protocol):
    """The feedback mailbox, INBOX selected; every operation is safe for mail (none deletes)."""

    def uidvalidity(self) -> int:
        """INBOX's UIDVALIDITY: the ledger keys every message by it and its UID."""
        ...

    def inbox_uids(self) -> list[int]:
        """Every UID in INBOX now, ascending (refreshed: mail that arrived since is seen)."""
        ...

    def fetch(self, uids: list[int], max_size: int | None = None) -> list[Fetched]:
        """The raw messages, by ascending UID, without marking them read; UIDs gone are skipped.

        A message over `max_size` comes as its header and the start of its body, `truncated`."""
        ...

    def move(self, uids: list[int], folder: str) -> None:
        """Move exactly these INBOX messages to `folder` (created if missing); no other mail.

        `folder` is written as in rules.yaml (`Feedback/Thanks`, `Sent`); the mailbox maps it to
        the server's layout. FolderUnavailable if the server will not have that folder: then
        nothing moved."""
        ...

    def search_header(self, folder: str, name: str, value: str) -> list[int]:
        """UIDs in `folder` whose header `name` contains `value` (our copy, by Message-ID);
        none when the folder does not exist."""
        ...

    def count(self, folder: str) -> int:
        """Messages in `folder`; 0 when it does not exist."""
        ...

    def take_back(
        self, folder: str, message_ids: list[str] | None = None, progress: Reporter = silent
    ) -> int:
        """Move messages from `folder` back to INBOX (all, or those with these Message-IDs),
        telling `progress` as they go."""
        ...


class SenderPort(Protocol):
    """The submission server; the outcome of each mail is a value, never an exception."""

    def send_many(self, envs: list[Envelope]) -> list[Exception | None]:
        """One result per envelope, in order: None (taken), PermanentSendError (a 5xx: give up),
        AuthRefused (the server refused our login: nothing was sent, a person must act) or
        TransientError (retry later; `maybe_sent` if the server may have taken it)."""
        ...


class CycleHooks(Protocol):
    """Points where the caller of a cycle looks in (watchdog, stop requests, tests)."""

    def after_commit(self) -> None:
        """A batch of intake is durable."""
        ...

    def stop_requested(self) -> bool:
        """True to end the cycle at the next safe point (between batches or passes)."""
        ...


class NoHooks:
    """The hooks of a caller that neither watches nor stops a cycle."""

    def after_commit(self) -> None:
        pass

    def stop_requested(self) -> bool:
        return False


NO_HOOKS: CycleHooks = NoHooks()
