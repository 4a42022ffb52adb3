"""Test support shared by every layer of the suite: where things are, and the lab desk.

Plain module (not a conftest) so tests import what they use by name: `from support import REPO`.
Under CI=true a lab that cannot start is a failure, never a skip: the integration tests are
the proof that mail flows.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import logging
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from email.message import EmailMessage
from pathlib import Path
from typing import TextIO

import pytest

from daemon import cli
from daemon.adapters import configdir, oauth2
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


@contextlib.contextmanager
def _process_state(env: Mapping[str, str]) -> Iterator[None]:
    """This process as a fresh `feedbackd` process would start: `env` as its whole environment,
    the repository as its folder, no OAuth2 token yet; afterwards the test's own environment,
    folder, logging and exception hooks are back as they were (the CLI sets up logging and
    hooks for itself)."""
    saved_env = dict(os.environ)
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved_hooks = sys.excepthook, threading.excepthook
    os.environ.clear()
    os.environ.update(env)
    oauth2._shared.clear()  # a fresh process has fetched no OAuth2 token yet
    try:
        with contextlib.chdir(REPO):
            yield
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        for handler in root.handlers[:]:
            if handler not in saved_handlers:
                root.removeHandler(handler)
        root.setLevel(saved_level)
        logging.captureWarnings(False)
        sys.excepthook, threading.excepthook = saved_hooks
        configdir.use_config_option(None, None)
        oauth2._shared.clear()


def run_cli(args: tuple[str, ...], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """`feedbackd ARGS` run in this process through its public entry point `daemon.cli.main`:
    its exit code, stdout and stderr, as `subprocess.run` would give them, without the second
    of Python start-up a child process costs. For tests of what a command does; a test of what
    the process does (signals, start-up, being killed, systemd) runs a real one."""
    out, err = io.StringIO(), io.StringIO()
    with _process_state(env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(list(args))
        except SystemExit as done:  # --help, --version and usage errors exit from argparse
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    return subprocess.CompletedProcess(["feedbackd", *args], code, out.getvalue(), err.getvalue())


class LogLines:
    """The daemon's stderr, read line by line as it comes, so the test waits for what the daemon
    says (a retry, a cycle) instead of sleeping for as long as that might take."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert proc.stderr is not None
        self._reader = threading.Thread(target=self._read, args=(proc.stderr,), daemon=True)
        self._reader.start()

    def _read(self, stream: TextIO) -> None:
        for line in stream:
            self.lines.append(line)

    def count(self, text: str) -> int:
        return sum(text in line for line in list(self.lines))

    def text(self) -> str:
        self._reader.join(timeout=20)
        return "".join(self.lines)


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

    def wait_holding(self, proc: subprocess.Popen[str], seconds: float = 20) -> None:
        """Until `proc` (a `start`ed daemon) holds the store: its pid in the store's lock file.
        What a test of a second writer beside it needs, without a guessed sleep."""
        lock = Path(f"{self.db}.lock")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()[1]
            if lock.exists() and lock.read_text(encoding="utf-8").strip() == str(proc.pid):
                return
            time.sleep(0.05)
        raise AssertionError(f"the daemon did not take the store within {seconds} s")

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

    def cli(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """`feedbackd ARGS` in this process (see `run_cli`): the same result as `feedbackd()`
        gives, for a test about what the command does rather than about its process."""
        return run_cli(args, env or self.env)

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
