"""OAuth2 tokens for the mail logins: the token endpoint over verified HTTPS, and the rotated
refresh token kept in the state folder.

The decisions (what to send, what an answer means, when to renew, which refresh token is
current) are core/oauth2's; this module does the I/O around them. One `Tokens` per process and
client (`tokens_for`), shared by IMAP, SMTP and every thread, so a refresh happens once and a
rotated refresh token is used by all from then on.

The rotated refresh token is written atomically, 0600, to `STORE.oauth2` (storage/files) before
it is ever used, and read again under a lock (`STORE.oauth2.lock`) right before each refresh:
a command run beside the daemon (`feedbackd reprocess`) may have rotated it meanwhile, and an
endpoint that rotates refuses the old one. Every token is taught to the log redactor the moment
it is known, so no log line, repr or traceback shows one.

urllib and ssl of the standard library are enough for two form POSTs; a library would add a
dependency for nothing. Certificates are always verified (FEEDBACKD_OAUTH2_CA_FILE for a
private CA).
"""

from __future__ import annotations

import fcntl
import logging
import os
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qsl, urlsplit

from daemon.adapters.logs import register_secret
from daemon.adapters.settings import OAuth2Settings
from daemon.adapters.storage.files import StorePaths, atomic_write
from daemon.core.oauth2 import (
    AccessToken,
    Client,
    Grant,
    Kept,
    TokenRefused,
    current_refresh_token,
    kept_after,
    kept_from_json,
    kept_to_json,
    must_renew,
    read_token_response,
    token_request,
)
from daemon.errors import AuthRefused, ConfigError, TransientError

log = logging.getLogger("feedbackd.oauth2")
TIMEOUT = 30.0


def client_of(settings: OAuth2Settings) -> Client:
    return Client(
        settings.client_id,
        settings.client_secret.reveal(),
        settings.scope,
        Grant(settings.grant),
    )


def post_form(
    url: str, body: bytes, ca_file: str | None, timeout: float = TIMEOUT
) -> tuple[int, bytes]:
    """POST an urlencoded form over verified HTTPS: (status, body), an error status included.

    An endpoint that cannot be reached is a TransientError (retry); a certificate we do not
    trust is a ConfigError (a person must set FEEDBACKD_OAUTH2_CA_FILE)."""
    context = ssl.create_default_context(cafile=ca_file)
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        },
    )
    host = urlsplit(url).netloc
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as answer:
            return int(answer.status), bytes(answer.read())
    except urllib.error.HTTPError as exc:  # 400/401 carry the OAuth2 error as JSON
        with exc:
            return int(exc.code), bytes(exc.read())
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, ssl.SSLCertVerificationError):
            raise ConfigError(
                f"OAuth2 token endpoint {host}: certificate not trusted "
                f"({reason.verify_message}): set FEEDBACKD_OAUTH2_CA_FILE to the CA that signed it"
            ) from None
        raise TransientError(f"OAuth2 token endpoint {host} unreachable: {reason}") from None
    except (OSError, ValueError) as exc:  # a timeout, a reset, a broken HTTP answer
        raise TransientError(f"OAuth2 token endpoint {host}: {exc}") from None


class Tokens:
    """The access token of one OAuth2 client: renewed before expiry, or when a server refused it."""

    def __init__(
        self,
        settings: OAuth2Settings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        post: Callable[[str, bytes, str | None], tuple[int, bytes]] = post_form,
    ):
        self.settings = settings
        self.client = client_of(settings)
        self.clock = clock
        self.post = post
        self.paths = StorePaths(settings.db)
        self._token: AccessToken | None = None
        self._lock = threading.Lock()
        #: A refresh token the endpoint called invalid, and what it said: not sent again (it
        #: is dead, and hammering an endpoint with it can lock the client out) until another
        #: one is current (`oauth2 authorize`, a new configured one).
        self._dead: tuple[str, str] | None = None

    def access_token(self, refused: AccessToken | None = None) -> AccessToken:
        """A token to log in with: the current one, or a new one when it is due for renewal or
        is the one a server just `refused` (unless another thread already replaced it)."""
        with self._lock:
            token = self._token
            if token is None or must_renew(token, self.clock()) or token == refused:
                token = self._token = self._fetch()
            return token

    def _fetch(self) -> AccessToken:
        host = urlsplit(self.settings.token_url).netloc
        with self._file_lock():
            presented = ""
            if self.client.grant is Grant.REFRESH_TOKEN:
                presented = current_refresh_token(self.settings.refresh_token.reveal(), self.kept())
                if self._dead is not None and self._dead[0] == presented:
                    raise AuthRefused(self._dead[1])
            body = token_request(self.client, presented)
            status, answer = self.post(self.settings.token_url, body, self.settings.ca_file)
            try:
                token = read_token_response(status, answer, self.clock())
            except TokenRefused as refused:
                if refused.needs_person:
                    said = _refusal(host, self.client.grant, refused)
                    if refused.error == "invalid_grant" and presented:
                        self._dead = (presented, said)
                    raise AuthRefused(said) from None
                raise TransientError(f"OAuth2 token endpoint {host}: {refused}") from None
            register_secret(token.value)
            if self.client.grant is Grant.REFRESH_TOKEN:
                kept = kept_after(self.settings.refresh_token.reveal(), token, presented)
                if kept is not None:
                    register_secret(kept.refresh_token)
                    self.keep(kept)
                    log.info("OAuth2: the endpoint rotated the refresh token; the new one is kept")
        log.debug("OAuth2: new access token from %s, valid until %s", host, token.expires_at)
        return token

    def kept(self) -> Kept | None:
        """The refresh token kept in the state folder, if any (registered with the redactor)."""
        try:
            found = kept_from_json(self.paths.oauth2.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigError(
                f"{self.paths.oauth2} cannot be read ({exc.strerror}): run feedbackd as the "
                "user that owns the state folder"
            ) from None
        if found is not None:
            register_secret(found.refresh_token)
        return found

    def keep(self, kept: Kept) -> None:
        """Durably, 0600, before the token is used: a crash after this keeps the new one."""
        try:
            self.paths.oauth2.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.paths.oauth2, kept_to_json(kept), mode=0o600)
        except OSError as exc:
            raise _unwritable(self.paths.oauth2, exc) from None

    @contextmanager
    def _file_lock(self) -> Iterator[None]:
        """One refresh at a time across processes sharing the state folder."""
        path = self.paths.oauth2.with_name(self.paths.oauth2.name + ".lock")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise _unwritable(path, exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def _unwritable(path: object, exc: OSError) -> ConfigError:
    return ConfigError(
        f"{path} cannot be written ({exc.strerror}): run feedbackd as the user that owns the "
        "state folder (the service's), or fix the folder's permissions"
    )


def _refusal(host: str, grant: Grant, refused: TokenRefused) -> str:
    """One line: what the endpoint said and what the admin does about it."""
    said = f"{refused.error}" + (f": {refused.description}" if refused.description else "")
    if refused.error == "invalid_grant" and grant is Grant.REFRESH_TOKEN:
        todo = (
            "the refresh token was revoked or has expired; run `feedbackd oauth2 authorize` "
            "again (or set a new FEEDBACKD_OAUTH2_REFRESH_TOKEN)"
        )
    elif refused.error in ("invalid_client", "unauthorized_client"):
        todo = "check FEEDBACKD_OAUTH2_CLIENT_ID and the client secret"
    elif refused.error == "invalid_scope":
        todo = "check FEEDBACKD_OAUTH2_SCOPE"
    else:
        todo = "check the FEEDBACKD_OAUTH2_* settings (docs/mailboxes.md)"
    return f"OAuth2 token endpoint {host} refused the {grant.value} grant ({said}): {todo}"


_shared: dict[OAuth2Settings, Tokens] = {}
_shared_lock = threading.Lock()


def tokens_for(settings: OAuth2Settings) -> Tokens:
    """The process's one `Tokens` for this client: IMAP and SMTP share its access token."""
    with _shared_lock:
        if settings not in _shared:
            _shared[settings] = Tokens(settings)
        return _shared[settings]


class LoopbackRedirect:
    """The one redirect of a browser sign-in, caught on http://127.0.0.1:PORT/ (RFC 8252 7.3).

    Loopback only, a free port, one answer: the first request that carries `code` or `error`
    ends it; anything else (a favicon) is answered 404 and ignored."""

    def __init__(self) -> None:
        self.answer: dict[str, str] | None = None
        self._done = threading.Event()
        catcher = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = dict(parse_qsl(urlsplit(self.path).query))
                if "code" not in query and "error" not in query:
                    self.send_error(404)
                    return
                body = b"feedbackd: signed in. You may close this tab.\n"
                if "error" in query:
                    body = b"feedbackd: the sign-in was not completed; see the terminal.\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                if catcher.answer is None:
                    catcher.answer = query
                    catcher._done.set()

            def log_message(self, format: str, *args: object) -> None:
                return  # the query holds the one-time code: never print it

        self._server = HTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def wait(self, timeout: float) -> Mapping[str, str] | None:
        """The redirect's query, once it came within `timeout` seconds; None otherwise."""
        return self.answer if self._done.wait(timeout) else None

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
