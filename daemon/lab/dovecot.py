"""A local mail lab: a real Dovecot and a real SMTP server on loopback, for tests, demo and bench.

Why real servers: the ways a mail daemon loses or duplicates mail (MOVE without capability,
expunging a whole folder, IDLE timing, TLS and AUTH) only show against a real IMAP server.
Dovecot runs in the foreground as our child with its own config in a temp dir; an aiosmtpd
server (STARTTLS + AUTH required) hands every accepted mail to Dovecot's LMTP socket, one
recipient at a time, so an acknowledgment really lands in the customer's mailbox.

Every address at any domain has a mailbox (static userdb) and logs in with the lab password.
Nothing here listens anywhere but 127.0.0.1.

Flavours (`MailLab(flavour=...)`, `FLAVOURS`) are the layouts servers really have, so the same
tests run on each: today's Dovecot (`/`, no prefix, \\Sent on "Sent"); the Maildir++ layout of
Courier and hosting panels (`INBOX.` prefix, `.` separator, \\Sent on "Sent Items"); a `|`
separator with a Russian \\Sent folder; and a server that announces no IDLE, MOVE, UIDPLUS,
CONDSTORE or NAMESPACE (Dovecot's `imap_capability`), as old or minimal servers do. One flavour
changes the submission server instead of the layout: `postfix` puts Debian's Postfix (lab/postfix)
between the daemon and Dovecot, a queueing MTA whose 250 means "queued", not "delivered"; and
`oauth2`, where the feedback mailbox logs in with SASL XOAUTH2 only (as Microsoft 365 and
Gmail want): Dovecot's oauth2 passdb and the lab SMTP server check each token at the lab's
own authorization server (lab/oauth2), whose access tokens live a few seconds and whose
refresh tokens rotate on every use. Customers still log in with the lab password.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from daemon.core.folders import Layout, Role
from daemon.errors import FeedbackdError
from daemon.lab.lmtp import lmtp_deliver
from daemon.lab.oauth2 import TokenLab
from daemon.lab.postfix import PostfixLab, PostfixUnavailable
from daemon.lab.smtp import LabHandler, LabSMTP, start_smtp_server

MAIL_UID = 5000  # Dovecot refuses to store mail as root
OAUTH2_LIFETIME = 3.0  # seconds an access token of the oauth2 flavour lives: tests see expiries
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


@dataclass(frozen=True)
class Flavour:
    """One IMAP server layout the lab can be."""

    name: str
    prefix: str = ""
    separator: str = "/"
    sent: str = "Sent"  # the folder marked \\Sent, below the prefix
    capability: str = ""  # what the server announces after login ("" = Dovecot's own list)
    # The daemon's submission server: "lab" (lab/smtp: 250 once the mail is in the mailbox) or
    # "postfix" (lab/postfix: 250 once queued; customers' mail still comes in through "lab").
    submission: str = "lab"
    oauth2: bool = False  # the feedback mailbox logs in with XOAUTH2 (IMAP and SMTP)

    @property
    def layout(self) -> Layout:
        """How the daemon should see this server: tests map folder names through it."""
        return Layout(self.prefix, self.separator, {Role.SENT: self.prefix + self.sent})


#: Dovecot 2.3's capabilities after login, less IDLE, MOVE, UIDPLUS, CONDSTORE/QRESYNC, NAMESPACE.
MINIMAL = (
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE SORT SORT=DISPLAY THREAD=REFERENCES "
    "THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN "
    "LIST-EXTENDED I18NLEVEL=1 ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS "
    "BINARY SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ SPECIAL-USE"
)
FLAVOURS: dict[str, Flavour] = {
    f.name: f
    for f in (
        Flavour("dovecot"),
        Flavour("maildir-dots", prefix="INBOX.", separator=".", sent="Sent Items"),
        Flavour("pipe-russian", separator="|", sent="Отправленные"),
        Flavour("minimal", capability=MINIMAL),
        Flavour("postfix", submission="postfix"),
        Flavour("oauth2", oauth2=True),
    )
}


class LabUnavailable(FeedbackdError):
    """Dovecot or openssl is not installed, or we are not root; `make test` installs them."""


def _group_alive(group: int) -> bool:
    """Whether a process of process group `group` still runs (a zombie left to init is done)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[2]) == group and fields[0] != "Z":  # fields: state, ppid, pgrp, ...
            return True
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LabPorts:
    imap: int
    imaps: int
    smtp: int
    submission: int  # Postfix's, in the `postfix` flavour


class MailLab:
    """Start with `start()` (or as a context manager); `stop()` leaves nothing running."""

    password = "lab-secret-pw"

    def __init__(self, root: str | Path | None = None, flavour: str = "dovecot"):
        if flavour not in FLAVOURS:
            raise ValueError(f"no lab flavour {flavour!r}: one of {', '.join(FLAVOURS)}")
        self.flavour = FLAVOURS[flavour]
        base = "/dev/shm" if os.path.isdir("/dev/shm") else None  # tmpfs: ~8x faster appends
        self.root = Path(root or tempfile.mkdtemp(prefix="feedbackd-lab-", dir=base))
        self.ports = LabPorts(free_port(), free_port(), free_port(), free_port())
        self._dovecot: subprocess.Popen[bytes] | None = None
        self._smtp: LabSMTP | None = None
        self.postfix: PostfixLab | None = None
        if self.flavour.submission == "postfix":
            self.postfix = PostfixLab(
                self.root / "postfix",
                self.ports.submission,
                self.cert,
                self.root / "key.pem",
                lmtp_socket=self.root / "run" / "lmtp",
                auth_socket=self.root / "run" / "auth-postfix",
            )
        self.oauth: TokenLab | None = None  # the authorization server of the oauth2 flavour

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> MailLab:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def cert(self) -> Path:
        return self.root / "cert.pem"

    def start(self) -> None:
        if not os.path.exists(DOVECOT):
            raise LabUnavailable(
                "dovecot is not installed: apt-get install dovecot-imapd dovecot-lmtpd"
            )
        if self.postfix is not None:
            try:
                self.postfix.check_installed()
            except PostfixUnavailable as exc:
                raise LabUnavailable(str(exc)) from None
        if os.geteuid() != 0:
            raise LabUnavailable(
                "the mail lab starts Dovecot with its own config and must run as root"
            )
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)  # Dovecot's auth and mail processes must reach it
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir(exist_ok=True)
        os.chown(self.root / "mail", MAIL_UID, MAIL_UID)
        self._make_cert()
        if self.flavour.oauth2 and self.oauth is None:
            self.oauth = TokenLab(self.cert, self.root / "key.pem", lifetime=OAUTH2_LIFETIME)
            self.oauth.start()
            (self.root / "dovecot-oauth2.conf.ext").write_text(self._oauth2_config())
        (self.root / "dovecot.conf").write_text(self._config())
        self._dovecot = self._spawn_dovecot("wb")
        self._wait_port(self.ports.imap)
        self._start_smtp()
        if self.postfix is not None:
            try:
                self.postfix.start()
            except PostfixUnavailable as exc:
                raise LabUnavailable(str(exc)) from None

    def stop(self) -> None:
        if self.postfix is not None:
            self.postfix.stop()
        self.stop_smtp()
        self.stop_imap()
        if self.oauth is not None:
            self.oauth.stop()
            self.oauth = None
        shutil.rmtree(self.root, ignore_errors=True)

    def stop_imap(self) -> None:
        """Stop Dovecot (keeping its mail), e.g. to test an outage; `start_imap` brings it back.

        The whole server stops, its client sessions too: Dovecot's master exits at once on
        SIGTERM, but an imap process serving a client (one in IDLE) outlived it by up to ten
        seconds before saying "Server shutting down", so the outage began that much later.
        Dovecot runs in a process group of its own, and the group is signalled."""
        if self._dovecot is None:
            return
        group = self._dovecot.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        try:
            self._dovecot.wait(10)
            deadline = time.monotonic() + 10
            while _group_alive(group) and time.monotonic() < deadline:
                time.sleep(0.05)
        except subprocess.TimeoutExpired:
            pass
        if _group_alive(group):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
        self._dovecot.wait()
        self._dovecot = None

    def start_imap(self) -> None:
        if self._dovecot is None:
            self._dovecot = self._spawn_dovecot("ab")
            self._wait_port(self.ports.imap)

    def stop_smtp(self) -> None:
        if self._smtp is not None:
            self._smtp.stop()
            self._smtp = None

    def start_smtp(self) -> None:
        if self._smtp is None:
            self._start_smtp()

    # -- helpers for tests and the demo ------------------------------------------------------

    @property
    def smtp(self) -> LabHandler:
        """The running SMTP server's handler: its knobs and the mail it took."""
        assert self._smtp is not None, "the lab's SMTP server is not running"
        return self._smtp.handler

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))

    def env(self, address: str = "feedback@example.test", db: str | Path = "") -> dict[str, str]:
        """The FEEDBACKD_* settings that point the daemon at this lab (and its submission
        server: Postfix in the `postfix` flavour)."""
        smtp = self.ports.submission if self.postfix is not None else self.ports.smtp
        env = {
            "FEEDBACKD_IMAP_HOST": "127.0.0.1",
            "FEEDBACKD_IMAP_PORT": str(self.ports.imaps),
            "FEEDBACKD_IMAP_USER": address,
            "FEEDBACKD_IMAP_PASSWORD": self.password,
            "FEEDBACKD_IMAP_TLS": "imaps",
            "FEEDBACKD_IMAP_CA_FILE": str(self.cert),
            "FEEDBACKD_SMTP_HOST": "127.0.0.1",
            "FEEDBACKD_SMTP_PORT": str(smtp),
            "FEEDBACKD_SMTP_USER": address,
            "FEEDBACKD_SMTP_PASSWORD": self.password,
            "FEEDBACKD_SMTP_TLS": "starttls",
            "FEEDBACKD_SMTP_CA_FILE": str(self.cert),
            "FEEDBACKD_ADDRESS": address,
        }
        if db:
            env["FEEDBACKD_DB"] = str(db)
        if self.oauth is not None:
            env.update(self.oauth2_env(address))
        return env

    def oauth2_env(self, address: str, grant: str = "refresh_token") -> dict[str, str]:
        """OAuth2 for both logins of `address` (no password at all): a client registered for
        it, and for `refresh_token` a refresh token as a user's consent gives it."""
        assert self.oauth is not None, "only the oauth2 flavour has an authorization server"
        client = f"feedbackd-{address}"
        secret = "cs-" + address
        self.oauth.register(client, secret, mailbox=address)
        env = {
            "FEEDBACKD_IMAP_AUTH": "oauth2",
            "FEEDBACKD_SMTP_AUTH": "oauth2",
            "FEEDBACKD_IMAP_PASSWORD": "",
            "FEEDBACKD_SMTP_PASSWORD": "",
            "FEEDBACKD_OAUTH2_TOKEN_URL": self.oauth.token_url,
            "FEEDBACKD_OAUTH2_CLIENT_ID": client,
            "FEEDBACKD_OAUTH2_CLIENT_SECRET": secret,
            "FEEDBACKD_OAUTH2_GRANT": grant,
            "FEEDBACKD_OAUTH2_SCOPE": "mail",
            "FEEDBACKD_OAUTH2_CA_FILE": str(self.cert),
        }
        if grant == "refresh_token":
            env["FEEDBACKD_OAUTH2_REFRESH_TOKEN"] = self.oauth.grant_refresh_token(client, address)
        return env

    def send(self, raw: bytes, sender: str, recipients: list[str]) -> None:
        """Submit a message through the lab's SMTP server, as a customer's mail client would."""
        with smtplib.SMTP("127.0.0.1", self.ports.smtp, timeout=30) as smtp:
            smtp.starttls(context=self.ssl_context())
            smtp.login(sender, self.password)
            smtp.sendmail(sender, recipients, raw)

    def deliver(self, raw: bytes, recipient: str) -> None:
        """Put a message straight into a mailbox over LMTP (faster; no SMTP in between)."""
        lmtp_deliver(self.root / "run" / "lmtp", raw, "sender@example.test", [recipient])

    def mailbox(self, user: str):  # type: ignore[no-untyped-def]
        """A logged-in imap-tools MailBox on a user's mailbox (caller logs out)."""
        from imap_tools import MailBox

        return MailBox("127.0.0.1", self.ports.imaps, ssl_context=self.ssl_context()).login(
            user, self.password, initial_folder="INBOX"
        )

    # -- internals ------------------------------------------------------------------------------

    def _spawn_dovecot(self, log_mode: str) -> subprocess.Popen[bytes]:
        """Dovecot in the foreground as our child; its stderr (startup errors) goes to a file
        that only the child keeps open."""
        with open(self.root / "dovecot.stderr", log_mode) as stderr:
            return subprocess.Popen(
                [DOVECOT, "-F", "-c", str(self.root / "dovecot.conf")],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,  # its own process group, for `stop_imap`
            )

    def _make_cert(self) -> None:
        if self.cert.exists():
            return
        if not shutil.which("openssl"):
            raise LabUnavailable("openssl is not installed: apt-get install openssl")
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "30",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-keyout",
                str(self.root / "key.pem"),
                "-out",
                str(self.cert),
            ],
            check=True,
            capture_output=True,
        )
        os.chmod(self.root / "key.pem", 0o600)

    def folder(self, name: str) -> str:
        """The server's name of one of feedbackd's folders (`Feedback/Thanks`, `Sent`)."""
        return self.flavour.layout.server_name(name)

    def _config(self) -> str:
        r = self.root
        f = self.flavour
        capability = f"imap_capability = {f.capability}" if f.capability else ""
        # Postfix's SASL asks Dovecot's auth process (smtpd_sasl_type = dovecot).
        postfix_auth = (
            "service auth {\n  unix_listener auth-postfix {\n    mode = 0666\n  }\n}"
            if self.postfix is not None
            else ""
        )
        mechanisms = "plain login"
        oauth2_passdb = ""
        if f.oauth2:
            mechanisms = "plain login xoauth2 oauthbearer"
            oauth2_passdb = f"""passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {r}/dovecot-oauth2.conf.ext
}}"""
        return f"""
protocols = imap lmtp
listen = 127.0.0.1
base_dir = {r}/run
state_dir = {r}/state
log_path = {r}/dovecot.log
ssl = yes
ssl_cert = <{r}/cert.pem
ssl_key = <{r}/key.pem
auth_mechanisms = {mechanisms}
auth_failure_delay = 0
recipient_delimiter = +
disable_plaintext_auth = no
mail_location = sdbox:~/sdbox
mail_uid = {MAIL_UID}
mail_gid = {MAIL_UID}
first_valid_uid = {MAIL_UID}
mail_max_userip_connections = 200
imap_idle_notify_interval = 1 mins
{capability}
{oauth2_passdb}
passdb {{
  driver = static
  mechanisms = plain login
  args = password={self.password}
}}
userdb {{
  driver = static
  args = uid={MAIL_UID} gid={MAIL_UID} home={r}/mail/%Lu allow_all_users=yes
}}
namespace inbox {{
  inbox = yes
  prefix = {f.prefix}
  separator = {f.separator}
  mailbox "{f.sent}" {{
    special_use = \\Sent
    auto = subscribe
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.ports.imap}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.ports.imaps}
    ssl = yes
  }}
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0666
  }}
}}
protocol lmtp {{
  postmaster_address = postmaster@example.test
}}
# Every client of the lab is 127.0.0.1: Dovecot's per-IP penalty after a refused login (2, 4,
# 8 … 15 s for every later login from that IP) would slow the tests that follow one that
# refuses a password on purpose. The refusal itself is unchanged.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
{postfix_auth}
"""

    def _oauth2_config(self) -> str:
        """Dovecot's oauth2 passdb: every token asked about at the lab's introspection URL."""
        assert self.oauth is not None
        return f"""introspection_url = {self.oauth.introspection_url}
introspection_mode = post
username_attribute = username
active_attribute = active
active_value = true
tls_ca_cert_file = {self.cert}
"""

    def _wait_port(self, port: int, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._dovecot is not None and self._dovecot.poll() is not None:
                log = (self.root / "dovecot.stderr").read_text(errors="replace")
                raise LabUnavailable(f"dovecot exited: {log[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise LabUnavailable(f"dovecot did not listen on 127.0.0.1:{port} within {timeout}s")

    def _start_smtp(self) -> None:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(self.cert), str(self.root / "key.pem"))
        oauth2 = (self.oauth.introspection_url, self.cert) if self.oauth is not None else None
        self._smtp = start_smtp_server(
            self.ports.smtp, ctx, self.password, self.root / "run" / "lmtp", oauth2
        )
