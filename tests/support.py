"""Test support shared by every layer of the suite: where things are, and the lab desk.

Plain module (not a conftest) so tests import what they use by name: `from support import REPO`.
Under CI=true a lab that cannot start is a failure, never a skip: the integration tests are
the proof that mail flows.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest

from daemon.lab.dovecot import LabUnavailable, MailLab

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"
CORPUS = Path(os.environ.get("FEEDBACKD_CORPUS", REPO.parent / "shared" / "corpus"))
_counter = itertools.count(1)


def started_lab(flavour: str = "dovecot") -> MailLab:
    """A running lab, or a failure under CI=true, or a skip elsewhere."""
    mail_lab = MailLab(flavour=flavour)
    try:
        mail_lab.start()
    except LabUnavailable as exc:
        mail_lab.stop()
        if os.environ.get("CI") == "true":
            pytest.fail(f"mail lab unavailable in CI: {exc}")
        pytest.skip(f"mail lab unavailable ({exc}); run `make test` to install Dovecot")
    return mail_lab


class Desk:
    """A fresh feedback mailbox and store on the shared lab, plus ways to drive feedbackd."""

    def __init__(self, lab: MailLab, tmp: Path):
        n = next(_counter)
        self.lab = lab
        self.address = f"feedback{n}@example.test"
        self.db = tmp / "store.json"
        # The shipped rules, less the weekly digest: a digest landing in Sent on Mondays would
        # make mail counts depend on the weekday (the digest has tests of its own).
        rules = (REPO / "rules.yaml").read_text(encoding="utf-8")
        self.rules = tmp / "rules.yaml"
        self.rules.write_text(re.sub(r"(?ms)^digest:\n(  .*?\n)+", "", rules), encoding="utf-8")
        self.env = dict(
            os.environ, **lab.env(self.address, self.db), FEEDBACKD_RULES=str(self.rules)
        )
        self.env.pop("NOTIFY_SOCKET", None)
        self.customer_n = n

    def customer(self, name: str) -> str:
        return f"{name}{self.customer_n}@example.test"

    def send(
        self,
        sender: str,
        subject: str,
        body: str,
        message_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> str:
        msg = EmailMessage()
        msg["From"] = sender
        msg["To"] = self.address
        msg["Subject"] = subject
        mid = message_id or f"<{next(_counter)}.{sender}>"
        msg["Message-ID"] = mid
        for k, v in (headers or {}).items():
            msg[k] = v
        msg.set_content(body)
        self.lab.send(msg.as_bytes(), sender, [self.address])
        return mid

    def start(self, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """`feedbackd run` in the background, its output captured: the caller stops it."""
        return subprocess.Popen(
            [sys.executable, "-m", "daemon", "run"],
            env=env or self.env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def feedbackd(
        self, *args: str, timeout: float = 60, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "daemon", *args],
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
        )

    def messages(self, user: str, folder: str = "INBOX") -> list:  # list[MailMessage]
        with self.lab.mailbox(user) as mb:
            if not mb.folder.exists(folder):
                return []
            mb.folder.set(folder)
            return list(mb.fetch(mark_seen=False))

    def folders(self) -> dict[str, int]:
        with self.lab.mailbox(self.address) as mb:
            out = {}
            for f in mb.folder.list():
                if "\\Noselect" in f.flags:
                    continue
                out[f.name] = mb.folder.status(f.name, ["MESSAGES"])["MESSAGES"]
            return out
