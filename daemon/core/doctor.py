"""What `feedbackd doctor` found, and what each problem asks the admin to do.

The doctor is the admin's "test connection" before going live: the service layer walks the
steps (resolve, connect, TLS, login, layout, folders, IDLE, our From) with the real adapters;
this module holds the values it collects and the sentences it says, so that every problem is
one line that names what is wrong and what to change, tested without a server. Pure: values
in, values out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

from daemon.core.folders import FolderUnavailable, Layout
from daemon.errors import EX_CONFIG


class Level(Enum):
    OK = "ok"  # checked and fine
    NOTE = "note"  # a fact worth knowing (capabilities, what would be created)
    PROBLEM = "PROBLEM"  # feedbackd cannot work until it is fixed: exit 78


class Reach(Enum):
    """Why a server could not be reached before any byte of IMAP or SMTP was spoken."""

    NO_NAME = "no such name"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    OTHER = "other"


@dataclass(frozen=True)
class Finding:
    topic: str  # "settings", "rules", "IMAP", "SMTP"
    level: Level
    text: str

    def __str__(self) -> str:
        return f"{self.topic:<8} {self.level.value:<7} {self.text}"


@dataclass
class Diagnosis:
    findings: list[Finding] = field(default_factory=list)

    def add(self, topic: str, level: Level, text: str) -> None:
        self.findings.append(Finding(topic, level, text))

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.level is Level.PROBLEM]

    @property
    def exit_code(self) -> int:
        """0 when all is well, 78 (EX_CONFIG) when the admin has something to fix."""
        return EX_CONFIG if self.problems else 0

    def verdict(self) -> str:
        n = len(self.problems)
        if not n:
            return "all well: feedbackd can work with these servers"
        return f"{n} problem(s): fix them and run `feedbackd doctor` again"


def unreachable(kind: str, host: str, port: int, reach: Reach, detail: str, timeout: float) -> str:
    """One line for a server that could not be reached, with what to check."""
    p = f"FEEDBACKD_{kind}_"
    if reach is Reach.NO_NAME:
        return f"{kind} host {host} is not found in DNS ({detail}): check {p}HOST for a typo"
    if reach is Reach.REFUSED:
        return (
            f"{kind} {host}:{port} refused the connection (nothing listens there): check "
            f"{p}PORT and {p}TLS ({_ports(kind)}) and that the server runs"
        )
    if reach is Reach.TIMEOUT:
        return (
            f"{kind} {host}:{port} did not answer within {timeout:g} s: a firewall may drop "
            f"the port; check {p}PORT ({_ports(kind)}) and the network"
        )
    return f"{kind} {host}:{port} cannot be reached ({detail}): check {p}HOST and the network"


def tls_mismatch(kind: str, tls: str, port: int, said: str) -> str:
    """A server reached but not understood: most often TLS spoken on a plain port or the
    other way round."""
    return f"{said}; is FEEDBACKD_{kind}_TLS={tls} what port {port} speaks? ({_ports(kind)})"


def _ports(kind: str) -> str:
    if kind == "IMAP":
        return "imaps is port 993, starttls 143"
    return "starttls is port 587, imaps (implicit TLS) 465"


@dataclass(frozen=True)
class FolderPlan:
    """One of our folders on this server: its name there, whether it exists, or why it
    cannot be used."""

    folder: str
    server_name: str
    exists: bool
    problem: str = ""


def plan_folders(folders: Iterable[str], layout: Layout, existing: set[str]) -> list[FolderPlan]:
    """Our folders (as rules.yaml writes them) mapped to the server's names, in order."""
    plans = []
    for folder in sorted(set(folders)):
        try:
            name = layout.server_name(folder)
        except FolderUnavailable as exc:
            plans.append(FolderPlan(folder, "", False, str(exc)))
            continue
        plans.append(FolderPlan(folder, name, name == "INBOX" or name in existing))
    return plans


def moves(capabilities: frozenset[str]) -> tuple[Level, str]:
    """How originals are filed on this server (docs/mailboxes.md)."""
    if "MOVE" in capabilities:
        return Level.OK, "filing: UID MOVE"
    if "UIDPLUS" in capabilities:
        return Level.NOTE, "filing: no MOVE: UID COPY, then UID EXPUNGE of exactly those (UIDPLUS)"
    return Level.NOTE, (
        "filing: no MOVE, no UIDPLUS: UID COPY, originals flagged \\Deleted $Filed, expunged "
        "only when nothing else is \\Deleted (docs/mailboxes.md)"
    )


def from_refused(address: str, stage: str, said: str) -> str:
    """The submission server will not take mail from our address (or to it)."""
    if stage == "MAIL FROM":
        return (
            f"SMTP refuses our From <{address}> ({stage}: {said}): let FEEDBACKD_SMTP_USER "
            "send as FEEDBACKD_ADDRESS (a send-as right or an alias), or set "
            "FEEDBACKD_ADDRESS to an address that login may use"
        )
    return (
        f"SMTP refuses mail to <{address}> ({stage}: {said}): a copy of every mail goes to the "
        "feedback address itself; check FEEDBACKD_ADDRESS"
    )
