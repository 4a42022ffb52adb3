"""The lab's OAuth2 authorization server: a token endpoint and an introspection endpoint on
loopback HTTPS, strict the way real ones are, and a record of every token it was shown.

Why its own server rather than a mock: the daemon's token requests, TLS verification, rotation
and device flow must meet real HTTP, and the lab's Dovecot (its `oauth2` passdb) and the lab's
SMTP server check every XOAUTH2 login against the same introspection endpoint, as Exchange
Online and Gmail check theirs.

What it does, as providers do or stricter:
- access tokens live `lifetime` seconds (a few, so tests see several expiries quickly);
- every refresh returns a NEW refresh token (rotation) and the one presented stops working;
- client_credentials for registered confidential clients, each bound to one mailbox (what
  Microsoft's "service principal with mailbox permission" grants);
- the device flow of RFC 8628 (`/device`), approved or denied by the test (`approve`, `deny`);
- the authorization code flow with PKCE, the browser's part played by the test (`sign_in`);
- revocation of any token (`revoke`, or RFC 7009's `/revoke`);
- `presented`: every refresh token shown to `/token`, so a test proves an old one never came
  back; `introspected`: every access token Dovecot or the SMTP server asked about.
"""

from __future__ import annotations

import base64
import json
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

from daemon.core.oauth2 import DEVICE_GRANT, pkce_challenge


@dataclass
class _Device:
    client_id: str
    user_code: str
    scope: str
    expires: float
    user: str = ""  # set by approve()
    denied: bool = False
    last_poll: float = 0.0


@dataclass
class _Issued:
    user: str
    client_id: str
    scope: str
    expires: float  # access tokens only; monotonic
    revoked: bool = False


@dataclass
class OAuthRecord:
    presented: list[str] = field(default_factory=list)  # refresh tokens shown to /token
    grants: list[str] = field(default_factory=list)  # grant_type of every /token request
    introspected: list[str] = field(default_factory=list)  # access tokens asked about


class TokenLab:
    """Start with `start()`; `url` is its base. Thread-safe: Dovecot asks from its own side."""

    def __init__(self, cert: Path, key: Path, lifetime: float = 4.0, interval: int = 1):
        self.cert, self.key = cert, key
        self.lifetime = lifetime
        self.interval = interval  # device flow polling interval, seconds
        self.clients: dict[str, str] = {}  # client id -> secret ("" for a public client)
        self.app_mailbox: dict[str, str] = {}  # client id -> the mailbox its app token may use
        self.access: dict[str, _Issued] = {}
        self.refresh: dict[str, _Issued] = {}
        self.devices: dict[str, _Device] = {}
        #: one-time code -> client id, user, PKCE challenge, redirect URI
        self.codes: dict[str, tuple[str, str, str, str]] = {}
        self.record = OAuthRecord()
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> TokenLab:
        lab = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {
                    k: v[0] for k, v in parse_qs(self.rfile.read(length).decode("utf-8")).items()
                }
                status, answer = lab.handle(self.path, form, self.headers.get("Authorization"))
                body = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return  # quiet: tests read the record, not a log

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self.cert), str(self.key))
        server.socket = context.wrap_socket(server.socket, server_side=True)
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, name="lab-oauth2", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    @property
    def token_url(self) -> str:
        return self.url + "/token"

    @property
    def introspection_url(self) -> str:
        return self.url + "/introspect"

    # -- what tests set up -----------------------------------------------------------------

    def register(self, client_id: str, secret: str = "", mailbox: str = "") -> None:
        """A client; with `mailbox`, its client_credentials tokens may use that mailbox."""
        with self.lock:
            self.clients[client_id] = secret
            if mailbox:
                self.app_mailbox[client_id] = mailbox

    def grant_refresh_token(self, client_id: str, user: str, scope: str = "mail") -> str:
        """A refresh token as a user's consent would give it (what `authorize` obtains)."""
        token = "rt-" + secrets.token_urlsafe(24)
        with self.lock:
            self.refresh[token] = _Issued(user, client_id, scope, float("inf"))
        return token

    def approve(self, user_code: str, user: str) -> None:
        with self.lock:
            for device in self.devices.values():
                if device.user_code == user_code:
                    device.user = user

    def deny(self, user_code: str) -> None:
        with self.lock:
            for device in self.devices.values():
                if device.user_code == user_code:
                    device.denied = True

    def sign_in(self, authorization_url: str, user: str) -> str:
        """What a browser sign-in and consent at `authorization_url` ends in: the address the
        browser is sent back to, with a one-time code bound to the PKCE challenge."""
        query = dict(parse_qsl(urlsplit(authorization_url).query))
        code = "code-" + secrets.token_urlsafe(16)
        with self.lock:
            self.codes[code] = (
                query["client_id"],
                user,
                query["code_challenge"],
                query["redirect_uri"],
            )
        return query["redirect_uri"] + "?" + urlencode({"code": code, "state": query["state"]})

    def revoke(self, token: str) -> None:
        with self.lock:
            for table in (self.access, self.refresh):
                if token in table:
                    table[token].revoked = True

    def revoke_user(self, user: str) -> None:
        """Revoke every token of a user (an admin pressing "revoke sessions")."""
        with self.lock:
            for table in (self.access, self.refresh):
                for issued in table.values():
                    if issued.user == user:
                        issued.revoked = True

    def live_refresh_tokens(self, user: str) -> list[str]:
        with self.lock:
            return [t for t, i in self.refresh.items() if i.user == user and not i.revoked]

    # -- the endpoints -----------------------------------------------------------------------

    def handle(
        self, path: str, form: dict[str, str], authorization: str | None
    ) -> tuple[int, dict[str, object]]:
        with self.lock:
            if path == "/token":
                return self._token(form, authorization)
            if path == "/device":
                return self._device(form)
            if path == "/introspect":
                return self._introspect(form)
            if path == "/revoke":
                token = form.get("token", "")
                for table in (self.access, self.refresh):
                    if token in table:
                        table[token].revoked = True
                return 200, {}
            return 404, {"error": "not_found"}

    def _client(self, form: dict[str, str], authorization: str | None) -> str | None:
        """The authenticated client id (client_secret_post or HTTP Basic), or None."""
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if authorization and authorization.lower().startswith("basic "):
            decoded = base64.b64decode(authorization[6:]).decode()
            client_id, _, secret = decoded.partition(":")
        known = self.clients.get(client_id)
        if known is None or (known and not secrets.compare_digest(known, secret)):
            return None
        return client_id

    def _issue(
        self, user: str, client_id: str, scope: str, with_refresh: bool
    ) -> dict[str, object]:
        access = "at-" + secrets.token_urlsafe(24)
        self.access[access] = _Issued(user, client_id, scope, time.monotonic() + self.lifetime)
        answer: dict[str, object] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": int(self.lifetime),
            "scope": scope,
        }
        if with_refresh:
            refresh = "rt-" + secrets.token_urlsafe(24)
            self.refresh[refresh] = _Issued(user, client_id, scope, float("inf"))
            answer["refresh_token"] = refresh
        return answer

    def _token(
        self, form: dict[str, str], authorization: str | None
    ) -> tuple[int, dict[str, object]]:
        grant = form.get("grant_type", "")
        self.record.grants.append(grant)
        client_id = self._client(form, authorization)
        if client_id is None:
            return 401, {"error": "invalid_client", "error_description": "unknown client"}
        if grant == "refresh_token":
            presented = form.get("refresh_token", "")
            self.record.presented.append(presented)
            issued = self.refresh.get(presented)
            if issued is None or issued.revoked or issued.client_id != client_id:
                return 400, {"error": "invalid_grant", "error_description": "token revoked"}
            issued.revoked = True  # rotation: the presented one never works again
            return 200, self._issue(issued.user, client_id, issued.scope, with_refresh=True)
        if grant == "client_credentials":
            mailbox = self.app_mailbox.get(client_id)
            if mailbox is None or not self.clients[client_id]:
                return 400, {"error": "unauthorized_client"}
            return 200, self._issue(mailbox, client_id, form.get("scope", ""), with_refresh=False)
        if grant == DEVICE_GRANT:
            device = self.devices.get(form.get("device_code", ""))
            if device is None or device.client_id != client_id:
                return 400, {"error": "invalid_grant"}
            now = time.monotonic()
            if now > device.expires:
                return 400, {"error": "expired_token"}
            if device.denied:
                return 400, {"error": "access_denied"}
            if not device.user:
                too_soon = now - device.last_poll < self.interval * 0.9
                device.last_poll = now
                return 400, {"error": "slow_down" if too_soon else "authorization_pending"}
            del self.devices[form["device_code"]]
            return 200, self._issue(device.user, client_id, device.scope, with_refresh=True)
        if grant == "authorization_code":
            found = self.codes.pop(form.get("code", ""), None)  # one use only
            if found is None:
                return 400, {"error": "invalid_grant"}
            client, user, challenge, redirect_uri = found
            verifier = form.get("code_verifier", "")
            if client != client_id or redirect_uri != form.get("redirect_uri"):
                return 400, {"error": "invalid_grant", "error_description": "not this client's"}
            if pkce_challenge(verifier) != challenge:
                return 400, {"error": "invalid_grant", "error_description": "PKCE mismatch"}
            return 200, self._issue(user, client_id, "mail", with_refresh=True)
        return 400, {"error": "unsupported_grant_type"}

    def _device(self, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        client_id = form.get("client_id", "")
        if client_id not in self.clients:
            return 401, {"error": "invalid_client"}
        code = secrets.token_urlsafe(16)
        user_code = secrets.token_hex(4).upper()
        self.devices[code] = _Device(
            client_id, user_code, form.get("scope", ""), time.monotonic() + 60
        )
        return 200, {
            "device_code": code,
            "user_code": user_code,
            "verification_uri": self.url + "/activate",
            "expires_in": 60,
            "interval": self.interval,
        }

    def _introspect(self, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        """RFC 7662: `active` and the user the token belongs to (Dovecot's username_attribute)."""
        token = form.get("token", "")
        self.record.introspected.append(token)
        issued = self.access.get(token)
        if issued is None or issued.revoked or time.monotonic() > issued.expires:
            return 200, {"active": False}
        return 200, {"active": True, "username": issued.user, "scope": issued.scope}

    def check(self, token: str, user: str) -> bool:
        """What the lab's SMTP server asks: is `token` live and `user`'s?"""
        _, answer = self.handle("/introspect", {"token": token}, None)
        return bool(answer.get("active")) and answer.get("username") == user
