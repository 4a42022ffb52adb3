"""Postfix from Debian's packages as the lab's submission server, in front of the lab's Dovecot.

Why a real MTA beside the lab's own SMTP server: the lab's server (lab/smtp.py) answers 250
only once the mail is in the mailbox, but a real submission server (Postfix, Exchange, Gmail)
answers 250 when the mail is *queued*; our own copy reaches the INBOX 0.1-0.5 s later here,
seconds later elsewhere. Code that looks for its copy straight after sending must be proven
against that.

This is Debian's Postfix, run as our child in the foreground (`postfix -c DIR start-fg`) with
its own main.cf/master.cf, queue and data directories in the lab's folder, so it shares nothing
with a system Postfix (which `make system` leaves unconfigured). It listens only on a
submission port on 127.0.0.1 (STARTTLS required, SASL through Dovecot's auth socket, the lab's
certificate), delivers example.test over LMTP into the lab's Dovecot, and sends nothing
anywhere else (`default_transport = error`). Stopped with SIGTERM to its master.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from daemon.errors import FeedbackdError

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
DOMAIN = "example.test"  # the lab's mail domain: the only one Postfix delivers


class PostfixUnavailable(FeedbackdError):
    """Postfix is not installed or would not start; `make test` installs it."""


class PostfixLab:
    """One Postfix instance: `start()` returns once it listens, `stop()` leaves nothing running."""

    def __init__(
        self,
        root: Path,
        port: int,
        cert: Path,
        key: Path,
        lmtp_socket: Path,
        auth_socket: Path,
    ):
        self.root = root
        self.port = port
        self.cert = cert
        self.key = key
        self.lmtp_socket = lmtp_socket
        self.auth_socket = auth_socket
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def queue(self) -> Path:
        return self.root / "queue"

    @property
    def log(self) -> Path:
        return self.root / "maillog"

    @staticmethod
    def check_installed() -> None:
        """Raise PostfixUnavailable unless Debian's Postfix is there (before the lab starts)."""
        if not os.path.exists(POSTFIX):
            raise PostfixUnavailable(
                "postfix is not installed: `make system` installs it (preseed "
                '"postfix postfix/main_mailer_type select No configuration", then '
                "apt-get install postfix)"
            )

    def start(self) -> None:
        if self._proc is not None:
            return
        self.check_installed()
        for sub in ("etc", "queue", "data"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        shutil.chown(self.root / "data", "postfix", "postfix")
        (self.root / "etc" / "main.cf").write_text(self._main_cf())
        (self.root / "etc" / "master.cf").write_text(self._master_cf())
        # `check` validates the config and makes the queue's directories (0.4 s); with them
        # made, `quick-start` lets start-fg skip repeating that and its slower survey (1.5 s).
        checked = subprocess.run(
            [POSTFIX, "-c", str(self.root / "etc"), "check"],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        if checked.returncode != 0:
            raise PostfixUnavailable(f"postfix check failed: {checked.stderr} {self._tail()}")
        (self.queue / "quick-start").touch()
        with open(self.root / "postfix.stderr", "ab") as stderr:
            self._proc = subprocess.Popen(
                [POSTFIX, "-c", str(self.root / "etc"), "start-fg"],
                stdout=stderr,
                stderr=stderr,
                stdin=subprocess.DEVNULL,
            )
        self._wait_listening()

    def stop(self) -> None:
        """SIGTERM to the master (it stops its children), then reap the `postfix` wrapper."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        self._signal_master(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            self._signal_master(signal.SIGKILL)
            proc.kill()
            proc.wait()

    # -- internals ------------------------------------------------------------------------------

    def _signal_master(self, sig: signal.Signals) -> None:
        # No pid file yet, or the master is gone already: nothing to signal.
        with contextlib.suppress(OSError, ValueError):
            os.kill(int((self.queue / "pid" / "master.pid").read_text().strip()), sig)

    def _wait_listening(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                self._proc = None
                raise PostfixUnavailable(f"postfix exited: {self._tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise PostfixUnavailable(
            f"postfix did not listen on 127.0.0.1:{self.port} within {timeout}s: {self._tail()}"
        )

    def _tail(self) -> str:
        text = ""
        for path in (self.root / "postfix.stderr", self.log):
            if path.exists():
                text += path.read_text(errors="replace")[-1500:]
        return text

    def _main_cf(self) -> str:
        r = self.root
        return f"""compatibility_level = 3.6
queue_directory = {r}/queue
data_directory = {r}/data
maillog_file = {r}/maillog
maillog_file_prefixes = {r}
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = mail.{DOMAIN}
mydomain = {DOMAIN}
myorigin = {DOMAIN}
mydestination =
mynetworks = 127.0.0.1/32
alias_maps =
alias_database =
biff = no
append_dot_mydomain = no
local_transport = error:5.1.1 the lab has no local mailboxes
virtual_mailbox_domains = {DOMAIN}
virtual_mailbox_maps = static:lab
virtual_transport = lmtp:unix:{self.lmtp_socket}
default_transport = error:5.7.1 the lab sends nothing outside {DOMAIN}
relay_transport = error:5.7.1 the lab sends nothing outside {DOMAIN}
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
smtpd_tls_cert_file = {self.cert}
smtpd_tls_key_file = {self.key}
smtpd_tls_security_level = may
smtpd_error_sleep_time = 0
lmtp_destination_concurrency_limit = 20
"""

    def _master_cf(self) -> str:
        # One listener only: the submission port. chroot is off (no copy of /etc in the queue).
        services = [
            ("pickup", "unix", "n", "60", "1", "pickup"),
            ("cleanup", "unix", "n", "-", "0", "cleanup"),
            ("qmgr", "unix", "n", "300", "1", "qmgr"),
            ("tlsmgr", "unix", "-", "1000?", "1", "tlsmgr"),
            ("rewrite", "unix", "-", "-", "-", "trivial-rewrite"),
            ("bounce", "unix", "-", "-", "0", "bounce"),
            ("defer", "unix", "-", "-", "0", "bounce"),
            ("trace", "unix", "-", "-", "0", "bounce"),
            ("verify", "unix", "-", "-", "1", "verify"),
            ("flush", "unix", "n", "1000?", "0", "flush"),
            ("proxymap", "unix", "-", "-", "-", "proxymap"),
            ("showq", "unix", "n", "-", "-", "showq"),
            ("error", "unix", "-", "-", "-", "error"),
            ("retry", "unix", "-", "-", "-", "error"),
            ("discard", "unix", "-", "-", "-", "discard"),
            ("lmtp", "unix", "-", "-", "-", "lmtp"),
            ("anvil", "unix", "-", "-", "1", "anvil"),
            ("scache", "unix", "-", "-", "1", "scache"),
            ("postlog", "unix-dgram", "n", "-", "1", "postlogd"),
        ]
        lines = [
            f"{name} {kind} {private} - n {wakeup} {limit} {command}"
            for name, kind, private, wakeup, limit, command in services
        ]
        lines.append(
            f"127.0.0.1:{self.port} inet n - n - - smtpd\n"
            "  -o syslog_name=postfix/submission\n"
            "  -o smtpd_tls_security_level=encrypt\n"
            "  -o smtpd_tls_auth_only=yes\n"
            "  -o smtpd_sasl_auth_enable=yes\n"
            "  -o smtpd_sasl_type=dovecot\n"
            f"  -o smtpd_sasl_path={self.auth_socket}\n"
            "  -o smtpd_client_restrictions=permit_sasl_authenticated,reject\n"
            "  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject"
        )
        return "\n".join(lines) + "\n"
