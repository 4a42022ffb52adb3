"""The IMAP adapter: the few mailbox operations feedbackd needs, each one safe for mail.

imap-tools opens the connection, logs in and idles; the operations that can lose mail are done
by hand (see shared lab facts): Dovecot announces MOVE only after login, so the capabilities are
refreshed then; a move is `UID MOVE`, or where the server has no MOVE, `UID COPY` followed by
`UID EXPUNGE` of exactly those UIDs (UIDPLUS). Without UIDPLUS the originals are flagged
`\\Deleted $Filed`, and a folder-wide EXPUNGE is sent only when no message in INBOX is
\\Deleted without also being `$Filed` by us: never would it remove a message someone else marked
\\Deleted. Nothing here ever deletes mail.

Every folder name the service passes is ours (`Feedback/Thanks`, `Sent`): the layout read at
login (adapters/folders) maps it to the server's prefix, separator and \\Sent folder. A folder
the server will not create is a FolderUnavailable, for the caller to leave the mail in INBOX.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import re
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from imap_tools import BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import MailboxFolderCreateError
from imap_tools.imap_utf7 import utf7_encode

from daemon.adapters.mail.folders import discover
from daemon.adapters.mail.imap_fetch import LARGE_HEAD as LARGE_HEAD
from daemon.adapters.mail.imap_fetch import Fetched as Fetched
from daemon.adapters.mail.imap_fetch import fetch_messages
from daemon.adapters.mail.login import imap_login
from daemon.adapters.mail.tls import certificate_refused, tls_context
from daemon.adapters.settings import Server
from daemon.core.folders import FolderUnavailable, Layout
from daemon.core.progress import Reporter, silent
from daemon.errors import AuthRefused, ConfigError, TransientError

log = logging.getLogger("feedbackd.imap")

FILED = "$Filed"  # our keyword on an original copied to its folder where it cannot be expunged
TAKE_BACK_SLICE = 200  # messages per MOVE when a quarantine goes back to INBOX
TIMEOUT = 30.0  # seconds for every network call: a hung server must not hang the daemon
#: One element of an imaplib answer: a line, or a (line, literal) pair for FETCH bodies.
_Item = bytes | tuple[bytes, bytes]


class Mailbox:
    """One logged-in IMAP session on the feedback mailbox, INBOX selected."""

    def __init__(self, server: Server, timeout: float = TIMEOUT):
        self.server = server
        self.timeout = timeout
        self._box: BaseMailBox | None = None
        self._folders: set[str] = set()
        self.capabilities: frozenset[str] = frozenset()
        self.layout = Layout()
        self._quick_empty = 0
        #: When to log in anew (an OAuth2 token's renewal time); None with a password.
        self.renew_at: datetime | None = None

    # -- connection ------------------------------------------------------------------------------

    def connect(self) -> Mailbox:
        s = self.server
        box: BaseMailBox
        try:
            if s.tls == "imaps":
                box = MailBox(s.host, s.port, timeout=self.timeout, ssl_context=tls_context(s))
            elif s.tls == "starttls":
                box = MailBoxStartTls(
                    s.host, s.port, timeout=self.timeout, ssl_context=tls_context(s)
                )
            else:
                box = MailBoxUnencrypted(s.host, s.port, timeout=self.timeout)
        except ssl.SSLCertVerificationError as exc:
            raise ConfigError(certificate_refused("IMAP", s, exc)) from None
        except (OSError, imaplib.IMAP4.error) as exc:
            raise TransientError(f"IMAP {s.host}:{s.port} unreachable: {exc}") from None
        try:
            self.renew_at = imap_login(box, s)
        except BaseException as exc:
            # Not logged in: the connection goes (a token endpoint away must not leak sockets).
            with contextlib.suppress(Exception):
                box.client.shutdown()
            if isinstance(exc, imaplib.IMAP4.abort):
                raise TransientError(f"IMAP connection dropped at login: {exc}") from None
            if isinstance(exc, TimeoutError | OSError) and not isinstance(
                exc, TransientError | AuthRefused
            ):
                raise TransientError(f"IMAP connection lost at login: {exc}") from None
            raise
        self._box = box
        typ, data = box.client.capability()
        if typ == "OK" and data and data[-1]:
            self.capabilities = frozenset(data[-1].decode().upper().split())
        with self._guard("reading the folder layout"):
            try:
                self.layout, listed = discover(box.client, self.capabilities)
            except imaplib.IMAP4.abort:
                raise
            except imaplib.IMAP4.error as exc:  # a BAD to NAMESPACE or LIST: assume the default
                log.warning("IMAP folder layout not readable (%s): assuming '/', no prefix", exc)
                self.layout, listed = Layout(), []
        self._folders = {f.name for f in listed if "\\noselect" not in {x.lower() for x in f.flags}}
        return self

    def close(self) -> None:
        if self._box is not None:
            # Logging out is a courtesy: a session that cannot even say goodbye is dropped.
            with contextlib.suppress(Exception):
                self._box.logout()
            self._box = None

    @property
    def is_connected(self) -> bool:
        """Logged in, as far as we know: a lost connection is forgotten when it is noticed."""
        return self._box is not None

    def seconds_until_renewal(self, now: datetime | None = None) -> float | None:
        """How long this session's login stays good (None: for ever, a password); the service
        reconnects before, since Exchange Online ends a session whose token expired."""
        if self.renew_at is None:
            return None
        return (self.renew_at - (now or datetime.now(UTC))).total_seconds()

    @property
    def box(self) -> BaseMailBox:
        if self._box is None:
            raise TransientError("IMAP session is not connected")
        return self._box

    @contextmanager
    def _guard(self, during: str = "") -> Iterator[None]:
        """A dropped or timed-out connection becomes TransientError: the caller reconnects
        and retries; the dead session is forgotten."""
        try:
            yield
        except TransientError:  # already says what broke (it is an OSError too)
            raise
        except (TimeoutError, imaplib.IMAP4.abort, OSError) as exc:
            self._box = None
            raise TransientError(
                f"IMAP connection lost{' ' + during if during else ''}: {exc}"
            ) from None

    def _cmd(self, *args: str) -> list[_Item]:
        """Run a UID command; a dropped connection becomes TransientError (reconnect + retry)."""
        with self._guard(f"during UID {args[0]}"):
            typ, data = self.box.client.uid(*args)
        if typ != "OK":
            raise TransientError(f"IMAP UID {args[0]} failed: {data!r}")
        return data

    # -- reading ---------------------------------------------------------------------------------

    @property
    def has_idle(self) -> bool:
        return "IDLE" in self.capabilities

    @property
    def folders(self) -> frozenset[str]:
        """The server's names of the selectable folders it listed at login."""
        return frozenset(self._folders)

    def _noop(self) -> None:
        with self._guard():
            self.box.client.noop()

    def uidvalidity(self) -> int:
        self._noop()
        with self._guard():
            known = self.box.client.untagged_responses.get("UIDVALIDITY")
            if known and isinstance(known[-1], bytes):
                return int(known[-1])
            _, data = self.box.client.status("INBOX", "(UIDVALIDITY)")
        m = re.search(
            rb"UIDVALIDITY (\d+)", data[0] if data and isinstance(data[0], bytes) else b""
        )
        if m is None:
            raise TransientError(f"IMAP STATUS gave no UIDVALIDITY: {data!r}")
        return int(m.group(1))

    def inbox_uids(self) -> list[int]:
        self._noop()  # the session's view of INBOX is refreshed only by a NOOP (or IDLE)
        return sorted(self._search("ALL"))

    def fetch(self, uids: list[int], max_size: int | None = None) -> list[Fetched]:
        """Raw bytes of the messages, by ascending UID, without marking them read."""
        return fetch_messages(self._cmd, uids, max_size)

    def count(self, folder: str) -> int:
        """Messages in a folder (0 when it does not exist)."""
        name = self._existing(folder)
        if name is None:
            return 0
        with self._guard():
            return int(self.box.folder.status(name, ["MESSAGES"])["MESSAGES"])

    def take_back(
        self, folder: str, message_ids: list[str] | None = None, progress: Reporter = silent
    ) -> int:
        """Move messages from `folder` back to INBOX (all, or those with these Message-IDs).

        In slices of `TAKE_BACK_SLICE`: a quarantine of thousands then shows progress, and a
        connection lost half-way leaves every message either moved or still in `folder`."""
        name = self._existing(folder)
        if name is None:
            return 0
        self._select(name)
        try:
            if message_ids:
                uids: list[int] = []
                for mid in message_ids:
                    uids += self._search("HEADER", "Message-ID", _quote(mid))
            else:
                uids = self._search("ALL")
            todo = sorted(set(uids))
            shown = progress(len(todo), f"messages moved back from {folder}")
            try:
                for start in range(0, len(todo), TAKE_BACK_SLICE):
                    piece = todo[start : start + TAKE_BACK_SLICE]
                    self.move(piece, "INBOX")
                    shown.advance(len(piece))
            finally:
                shown.close()
        finally:
            self._select("INBOX")
        return len(todo)

    def search_header(self, folder: str, name: str, value: str) -> list[int]:
        """UIDs in `folder` whose header `name` contains `value` (e.g. our Message-ID); none
        when the folder does not exist."""
        where = self._existing(folder)
        if where is None:
            return []
        self._select(where)
        try:
            return self._search("HEADER", name, _quote(value))
        finally:
            self._select("INBOX")

    # -- writing ---------------------------------------------------------------------------------

    def _existing(self, folder: str) -> str | None:
        """The server's name of our `folder`, or None when it does not exist there."""
        try:
            name = self.layout.server_name(folder)
        except FolderUnavailable:
            return None
        if name in self._folders or name == "INBOX":
            return name
        with self._guard():
            found = self.box.folder.exists(name)
        if found:
            self._folders.add(name)
        return name if found else None

    def ensure_folder(self, folder: str) -> str:
        """The server's name of our `folder`, created if missing; FolderUnavailable if the
        server will not have it (the caller leaves the mail where it is)."""
        name = self.layout.server_name(folder)
        if name in self._folders or name == "INBOX":
            return name
        with self._guard("creating a folder"):
            if not self.box.folder.exists(name):
                try:
                    self.box.folder.create(name)
                except MailboxFolderCreateError as exc:  # the server said NO
                    if not self.box.folder.exists(name):  # made meanwhile by someone else?
                        raise FolderUnavailable(folder, name, _said(exc)) from None
                # Subscribing only shows the folder in mail clients; the daemon works without.
                with contextlib.suppress(Exception):
                    self.box.folder.subscribe(name, True)
        self._folders.add(name)
        return name

    def move(self, uids: list[int], folder: str) -> None:
        """Move exactly these messages; never expunge anything else."""
        if not uids:
            return
        uidset = ",".join(map(str, uids))
        target = _quote(utf7_encode(self.ensure_folder(folder)).decode())
        if "MOVE" in self.capabilities:
            self._cmd("MOVE", uidset, target)
            return
        self._cmd("COPY", uidset, target)
        if "UIDPLUS" in self.capabilities:
            self._cmd("STORE", uidset, "+FLAGS.SILENT", r"(\Deleted)")
            self._cmd("EXPUNGE", uidset)
            return
        # The copies are safe in `folder`. Ours are marked $Filed besides \Deleted, so that a
        # plain EXPUNGE is sent only when it can remove nothing but what we filed.
        try:
            self._cmd("STORE", uidset, "+FLAGS.SILENT", rf"(\Deleted {FILED})")
        except TransientError:  # a server that keeps no keywords: \Deleted alone
            self._cmd("STORE", uidset, "+FLAGS.SILENT", r"(\Deleted)")
        others = set(self._search("DELETED", "UNKEYWORD", FILED)) - set(uids)
        if others:
            log.warning(
                "%d filed messages stay in INBOX flagged \\Deleted: %d other messages there "
                "are \\Deleted by someone else and this server has no UID EXPUNGE (UIDPLUS)",
                len(uids),
                len(others),
            )
            return
        with self._guard("during EXPUNGE"):
            self.box.client.expunge()

    def append(self, folder: str, raw: bytes, flags: str = r"(\Seen)") -> None:
        name = self.ensure_folder(folder)
        with self._guard("during APPEND"):
            typ, data = self.box.client.append(
                _quote(utf7_encode(name).decode()),
                flags,
                imaplib.Time2Internaldate(datetime.now().astimezone()),
                raw,
            )
        if typ != "OK":
            raise TransientError(f"IMAP APPEND to {folder} failed: {data!r}")

    # -- waiting ---------------------------------------------------------------------------------

    def idle_start(self) -> None:
        self.box.idle.start()  # type: ignore[no-untyped-call]  # imap-tools leaves it unannotated

    def idle_poll(self, timeout: float) -> list[bytes]:
        """Responses that arrived within `timeout`. imap-tools returns [] at once on a closed
        connection (the socket is readable, the read hits EOF), so an empty answer well before
        the timeout, twice running, means the server went away: raise instead of spinning."""
        started = time.monotonic()
        with self._guard("while idling"):
            responses = self.box.idle.poll(timeout=timeout)
        if responses or time.monotonic() - started > timeout * 0.5:
            self._quick_empty = 0
            return responses
        self._quick_empty += 1
        if self._quick_empty >= 2:
            self._quick_empty = 0
            self._box = None
            raise TransientError("IMAP connection closed by the server while idling")
        return responses

    def idle_stop(self) -> None:
        with self._guard("leaving IDLE"):
            self.box.idle.stop()  # type: ignore[no-untyped-call]  # imap-tools leaves it unannotated

    def _select(self, folder: str) -> None:
        with self._guard():
            self.box.folder.set(folder)

    def _search(self, *criteria: str) -> list[int]:
        """UIDs of the selected folder matching `criteria` (one untagged SEARCH line)."""
        first = self._cmd("SEARCH", *criteria)[0]
        return [int(x) for x in first.split()] if isinstance(first, bytes) else []


def _said(exc: Exception) -> str:
    """The server's words from an imap-tools error (its repr carries the NO line)."""
    found = re.findall(r"b['\"](.*?)['\"]", str(exc))
    return "the server said: " + (found[-1] if found else str(exc))


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
