"""Where to connect and with what secret: read from the environment, checked before anything runs.

Connection settings never live in rules.yaml (that file is business logic an admin edits and
shares). Which files and variables apply is found by `configdir` (the discovery order: --config,
FEEDBACKD_CONFIG_DIR, /etc/feedbackd, the packaged defaults; the folder's feedbackd.env beneath
the environment), so the service and every command read the same ones. Every problem names
the variable and what to set, and ends the process with exit 78 so systemd does not
restart-loop on a typo. Passwords are wrapped in `Secret`, whose repr and str
never show the value, so they cannot leak through logs, reprs or tracebacks.

`FEEDBACKD_IMAP_AUTH` / `FEEDBACKD_SMTP_AUTH` choose between a password and OAuth2 (SASL
XOAUTH2, what Microsoft 365 and Gmail take); the OAuth2 client is read once (`OAuth2Settings`)
and shared by both logins, since one token serves IMAP and SMTP.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from daemon.adapters.configdir import config_dir, environment, store_path
from daemon.adapters.storage.files import StorePaths
from daemon.core.sendrate import Rate, parse_rates
from daemon.errors import ConfigError, Problem

TLS_MODES = ("imaps", "starttls", "plain")
AUTH_MODES = ("password", "oauth2")
GRANTS = ("refresh_token", "client_credentials")
DEFAULT_PORTS = {
    ("IMAP", "imaps"): 993,
    ("IMAP", "starttls"): 143,
    ("IMAP", "plain"): 143,
    ("SMTP", "imaps"): 465,
    ("SMTP", "starttls"): 587,
    ("SMTP", "plain"): 25,
}


class Secret:
    """A password that prints as '***'. Call `reveal()` only where it is handed to a server."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    user: str
    password: Secret
    tls: str  # imaps | starttls | plain
    ca_file: str | None
    verify: bool = True  # certificate checks; off only by FEEDBACKD_*_TLS_VERIFY=no
    auth: str = "password"  # password | oauth2 (FEEDBACKD_*_AUTH)
    oauth2: OAuth2Settings | None = None  # the client, when auth is oauth2

    @property
    def is_loopback(self) -> bool:
        return is_loopback(self.host)


@dataclass(frozen=True)
class OAuth2Settings:
    """The OAuth2 client both logins use (FEEDBACKD_OAUTH2_*). `refresh_token` is the one the
    admin configured ("" when `feedbackd oauth2 authorize` stored one instead); a rotated one
    lives in the state folder (adapters/oauth2), beside the store `db`."""

    token_url: str
    client_id: str
    client_secret: Secret
    grant: str  # refresh_token | client_credentials
    refresh_token: Secret
    scope: str
    ca_file: str | None
    db: Path

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(x.reveal() for x in (self.client_secret, self.refresh_token) if x.reveal())


@dataclass(frozen=True)
class Settings:
    imap: Server
    smtp: Server
    address: str
    db: Path
    rules: Path
    templates: Path
    log_level: str = "INFO"
    smtp_rate: tuple[Rate, ...] = ()  # FEEDBACKD_SMTP_RATE: recipients per window; () no limit
    oauth2: OAuth2Settings | None = None  # set when either login is oauth2

    @property
    def secrets(self) -> tuple[str, ...]:
        found = [s.password.reveal() for s in (self.imap, self.smtp) if s.password.reveal()]
        return (*found, *(self.oauth2.secrets if self.oauth2 else ()))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_settings(env: Mapping[str, str] | None = None, need_servers: bool = True) -> Settings:
    """Read FEEDBACKD_* variables; raise ConfigError naming the first bad variable.

    Without `env`: the process environment over the configuration folder's feedbackd.env.
    """
    if env is not None:
        return _settings(env, need_servers)
    found = environment()
    try:
        return _settings(found.values, need_servers)
    except ConfigError as exc:
        if found.unread is None:
            raise
        hint = Problem(
            str(found.config.env_file),
            None,
            f"was not read ({found.unread}): run the command as a user who may read it",
        )
        raise ConfigError([*exc.problems, hint]) from None


def _settings(env: Mapping[str, str], need_servers: bool) -> Settings:
    blank = Server("", 0, "", Secret(""), "plain", None)
    imap = _server(env, "IMAP") if need_servers else blank
    smtp = _server(env, "SMTP") if need_servers else blank
    address = env.get("FEEDBACKD_ADDRESS", "").strip().lower()
    if need_servers and ("@" not in address or " " in address):
        raise ConfigError(
            "FEEDBACKD_ADDRESS is not set to an email address: set it to the "
            "feedback address customers write to, e.g. feedback@company.example"
        )
    db = store_path(env)
    oauth2 = None
    if need_servers and "oauth2" in (imap.auth, smtp.auth):
        oauth2 = oauth2_settings(env, db)
        imap = replace(imap, oauth2=oauth2) if imap.auth == "oauth2" else imap
        smtp = replace(smtp, oauth2=oauth2) if smtp.auth == "oauth2" else smtp
    return Settings(
        imap=imap,
        smtp=smtp,
        address=address,
        db=db,
        rules=Path(rules_file(env=env)),
        templates=Path(templates_dir(env=env)),
        log_level=(env.get("FEEDBACKD_LOG_LEVEL") or "INFO").upper(),
        smtp_rate=smtp_rate(env),
        oauth2=oauth2,
    )


def smtp_rate(env: Mapping[str, str]) -> tuple[Rate, ...]:
    """FEEDBACKD_SMTP_RATE, e.g. `30/min,10000/day`: recipients (our own copy included) the
    submission server takes from this mailbox in any such window (docs/mailboxes.md)."""
    text = env.get("FEEDBACKD_SMTP_RATE", "")
    try:
        return parse_rates(text)
    except ValueError as exc:
        raise ConfigError(
            f"FEEDBACKD_SMTP_RATE={text!r} is not valid: {exc}; or unset it for no limit"
        ) from None


def oauth2_settings(
    env: Mapping[str, str], db: Path, need_refresh_token: bool = True
) -> OAuth2Settings:
    """The FEEDBACKD_OAUTH2_* client; ConfigError naming the variable and what to set.

    `need_refresh_token=False` for `feedbackd oauth2 authorize`, which obtains the first one."""
    p = "FEEDBACKD_OAUTH2_"
    url = env.get(p + "TOKEN_URL", "").strip()
    if not url:
        raise ConfigError(
            f"{p}TOKEN_URL is not set: set it to the token endpoint, e.g. "
            "https://login.microsoftonline.com/TENANT/oauth2/v2.0/token or "
            "https://oauth2.googleapis.com/token"
        )
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigError(
            f"{p}TOKEN_URL={url} is not an https:// URL: tokens and secrets must not cross "
            "the network in clear; set the endpoint's https:// address"
        )
    client_id = env.get(p + "CLIENT_ID", "").strip()
    if not client_id:
        raise ConfigError(
            f"{p}CLIENT_ID is not set: set it to the application (client) id of the app "
            "registered at the provider"
        )
    grant = (env.get(p + "GRANT") or "refresh_token").strip().lower()
    if grant not in GRANTS:
        raise ConfigError(
            f"{p}GRANT={grant!r} is not valid: set refresh_token (the default; a user's "
            "consent, see `feedbackd oauth2 authorize`) or client_credentials"
        )
    secret = _secret(env, p + "CLIENT_SECRET", "oauth2-client-secret", required=False)
    if grant == "client_credentials" and not secret.reveal():
        raise ConfigError(
            f"{p}CLIENT_SECRET is not set: the client_credentials grant needs the client "
            f"secret; set {p}CLIENT_SECRET or {p}CLIENT_SECRET_FILE"
        )
    refresh = Secret("")
    if grant == "refresh_token":
        refresh = _secret(env, p + "REFRESH_TOKEN", "oauth2-refresh-token", required=False)
        missing = not refresh.reveal() and not StorePaths(db).oauth2.exists()
        if missing and need_refresh_token:
            raise ConfigError(
                f"{p}REFRESH_TOKEN is not set: run `feedbackd oauth2 authorize` once to obtain "
                f"and keep one, or set {p}REFRESH_TOKEN or {p}REFRESH_TOKEN_FILE"
            )
    scope = " ".join(env.get(p + "SCOPE", "").split())
    if grant == "client_credentials" and not scope:
        raise ConfigError(
            f"{p}SCOPE is not set: the client_credentials grant needs it, e.g. "
            "https://outlook.office365.com/.default for Microsoft 365"
        )
    ca = env.get(p + "CA_FILE") or None
    if ca and not os.path.isfile(ca):
        raise ConfigError(f"{p}CA_FILE={ca} does not exist: point it at a PEM file or unset it")
    return OAuth2Settings(url, client_id, secret, grant, refresh, scope, ca, db)


def _secret(env: Mapping[str, str], var: str, credential: str, required: bool = True) -> Secret:
    """An OAuth2 secret from VAR, else VAR_FILE, else systemd's credential; "" when not
    required (the passwords keep `_password`, whose words the tests and docs quote)."""
    if env.get(var):
        return Secret(env[var])
    path = env.get(var + "_FILE")
    if not path and env.get("CREDENTIALS_DIRECTORY"):  # systemd LoadCredential=
        cand = Path(env["CREDENTIALS_DIRECTORY"]) / credential
        path = str(cand) if cand.exists() else None
    if not path:
        if not required:
            return Secret("")
        raise ConfigError(
            f"{var} is not set: set {var}, or {var}_FILE to a "
            f"file holding it, or LoadCredential={credential}:… in the unit"
        )
    try:
        return Secret(Path(path).read_text(encoding="utf-8").rstrip("\r\n"))
    except OSError as exc:
        raise ConfigError(
            f"{var}_FILE={path} cannot be read ({exc.strerror}): fix the path or its permissions"
        ) from None


def rules_file(given: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """The rule book to read: `--rules`, else FEEDBACKD_RULES, else the configuration folder's.

    Kept as the admin wrote it (not normalised), so messages name the file the same way.
    """
    if given:
        return given
    env = environment().values if env is None else env
    return env.get("FEEDBACKD_RULES") or str(config_dir(env).path / "rules.yaml")


def templates_dir(given: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """The templates folder: `--templates`, else FEEDBACKD_TEMPLATES, else the folder's own."""
    if given:
        return given
    env = environment().values if env is None else env
    return env.get("FEEDBACKD_TEMPLATES") or str(config_dir(env).path / "templates")


def _server(env: Mapping[str, str], kind: str) -> Server:
    p = f"FEEDBACKD_{kind}_"
    host = env.get(p + "HOST", "").strip()
    if not host:
        raise ConfigError(f"{p}HOST is not set: set it to the {kind} server's host name")
    tls = (env.get(p + "TLS") or ("imaps" if kind == "IMAP" else "starttls")).strip().lower()
    if tls not in TLS_MODES:
        raise ConfigError(f"{p}TLS={tls!r} is not valid: set it to imaps, starttls or plain")
    if tls == "plain" and not is_loopback(host):
        raise ConfigError(
            f"{p}TLS=plain is refused for {host}: passwords would cross the "
            "network in clear; set imaps or starttls (plain is for loopback only)"
        )
    port_text = env.get(p + "PORT") or str(DEFAULT_PORTS[kind, tls])
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"{p}PORT={port_text!r} is not a port number: set 1..65535")
    user = env.get(p + "USER", "").strip()
    if not user:
        raise ConfigError(f"{p}USER is not set: set it to the {kind} login name")
    ca = env.get(p + "CA_FILE") or None
    if ca and not os.path.isfile(ca):
        raise ConfigError(f"{p}CA_FILE={ca} does not exist: point it at a PEM file or unset it")
    verify_text = (env.get(p + "TLS_VERIFY") or "yes").strip().lower()
    if verify_text not in ("yes", "no"):
        raise ConfigError(
            f"{p}TLS_VERIFY={verify_text!r} is not valid: set yes (the default) "
            "or no (accept any certificate: only for a test server)"
        )
    auth = (env.get(p + "AUTH") or "password").strip().lower()
    if auth not in AUTH_MODES:
        raise ConfigError(
            f"{p}AUTH={auth!r} is not valid: set password (the default) or oauth2 "
            "(Microsoft 365, Google Workspace; see docs/mailboxes.md)"
        )
    password = _password(env, p, kind) if auth == "password" else Secret("")
    return Server(host, int(port_text), user, password, tls, ca, verify_text == "yes", auth)


def _password(env: Mapping[str, str], p: str, kind: str) -> Secret:
    if env.get(p + "PASSWORD"):
        return Secret(env[p + "PASSWORD"])
    path = env.get(p + "PASSWORD_FILE")
    if not path and env.get("CREDENTIALS_DIRECTORY"):  # systemd LoadCredential=
        cand = Path(env["CREDENTIALS_DIRECTORY"]) / f"{kind.lower()}-password"
        path = str(cand) if cand.exists() else None
    if not path:  # a command beside the service: the file the unit's LoadCredential= reads
        given = config_dir(env).credential(kind.lower())
        path = str(given) if given is not None and given.exists() else None
    if not path:
        where = config_dir(env).credential(kind.lower())
        raise ConfigError(
            f"{p}PASSWORD is not set: set {p}PASSWORD, or {p}PASSWORD_FILE to a "
            f"file holding it, or LoadCredential={kind.lower()}-password:… in the unit"
            + (f", or write it to {where}" if where is not None else "")
        )
    try:
        return Secret(Path(path).read_text(encoding="utf-8").rstrip("\r\n"))
    except OSError as exc:
        raise ConfigError(
            f"{p}PASSWORD_FILE={path} cannot be read ({exc.strerror}): "
            "fix the path or its permissions"
        ) from None
