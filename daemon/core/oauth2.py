"""OAuth2 for the mail logins, the decisions only: what to ask a token endpoint, what its answer
means, when an access token must be renewed, which refresh token is current. Pure.

Microsoft 365 takes no password over IMAP, and Gmail only app passwords: both take SASL
XOAUTH2, a bearer token obtained from a token endpoint (RFC 6749). The adapter
(adapters/oauth2) sends the requests built here over verified HTTPS and keeps the rotated
refresh token on disk; every decision about tokens is made here, with `now` an argument, so each
is a unit test.

Why a margin before expiry: a token that expires between our check and the server's is refused,
and a refused login costs more than a refresh (Dovecot slows every later login from the same
address for a while). Why the refresh token is chosen by `current_refresh_token`: an endpoint
that rotates refresh tokens (a new one with every refresh) invalidates the old one, so the one
on disk must win over the one the admin configured, until the admin configures a new one.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from urllib.parse import urlencode

#: Renew this long before expiry, or a quarter of the token's life when that is shorter.
MARGIN = timedelta(seconds=60)
#: When the endpoint does not say how long a token lives (RFC 6749 5.1: `expires_in` is
#: RECOMMENDED, not required): assume an hour, the usual, and renew on the first refusal.
DEFAULT_LIFETIME = timedelta(hours=1)
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class Grant(Enum):
    REFRESH_TOKEN = "refresh_token"  # a user's consent, once (`feedbackd oauth2 authorize`)
    CLIENT_CREDENTIALS = "client_credentials"  # the application's own access (Microsoft 365)


@dataclass(frozen=True)
class Client:
    """Who we are at the token endpoint and what we ask for; the secret stays a string only
    inside the request body built here."""

    client_id: str
    client_secret: str
    scope: str
    grant: Grant


@dataclass(frozen=True)
class AccessToken:
    """A bearer token and when it stops working (`expires_at`, our clock)."""

    value: str = ""
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    refresh_token: str = ""  # a new refresh token the endpoint rotated to, or ""
    scope: str = ""

    def __repr__(self) -> str:  # never a token in a log line or a traceback
        return f"AccessToken(expires_at={self.expires_at!r}, rotated={bool(self.refresh_token)})"

    __str__ = __repr__


class TokenRefused(Exception):
    """The endpoint answered with an OAuth2 error (RFC 6749 5.2): `error` is its code."""

    def __init__(self, error: str, description: str = ""):
        self.error = error
        self.description = description
        super().__init__(f"{error}: {description}" if description else error)

    @property
    def needs_person(self) -> bool:
        """A person must act (consent again, fix the client): retrying the same request cannot
        help. Everything else (`temporarily_unavailable`, a server error) is retried."""
        return self.error in {
            "invalid_grant",
            "invalid_client",
            "unauthorized_client",
            "unsupported_grant_type",
            "invalid_scope",
            "invalid_request",
            "access_denied",
            "expired_token",
        }


def token_request(client: Client, refresh_token: str = "") -> bytes:
    """The form body of a token request (RFC 6749 6 for a refresh, 4.4 for client credentials).

    The client authenticates in the body (client_secret_post, 2.3.1): Microsoft and Google both
    take it; a public client (no secret) sends its id alone."""
    form: dict[str, str] = {"grant_type": client.grant.value, "client_id": client.client_id}
    if client.grant is Grant.REFRESH_TOKEN:
        if not refresh_token:
            raise ValueError("a refresh_token grant needs a refresh token")
        form["refresh_token"] = refresh_token
    if client.client_secret:
        form["client_secret"] = client.client_secret
    if client.scope:
        form["scope"] = client.scope
    return urlencode(form).encode("ascii")


def device_request(client: Client) -> bytes:
    """The form body that starts the device flow (RFC 8628 3.1)."""
    form = {"client_id": client.client_id}
    if client.scope:
        form["scope"] = client.scope
    return urlencode(form).encode("ascii")


def device_token_request(client: Client, device_code: str) -> bytes:
    """The form body of one poll of the device flow (RFC 8628 3.4)."""
    form = {"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": client.client_id}
    if client.client_secret:
        form["client_secret"] = client.client_secret
    return urlencode(form).encode("ascii")


def _json_object(body: bytes, what: str) -> Mapping[str, object]:
    try:
        found = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise TokenRefused("invalid_response", f"the {what} is not JSON") from None
    if not isinstance(found, dict):
        raise TokenRefused("invalid_response", f"the {what} is not a JSON object")
    return found


def read_token_response(status: int, body: bytes, now: datetime) -> AccessToken:
    """The endpoint's answer as a token, or TokenRefused with its error code (RFC 6749 5.1/5.2).

    `expires_in` counts from when the answer came, which is `now`."""
    data = _json_object(body, "token endpoint's answer")
    if status != 200 or "error" in data:
        error = str(data.get("error") or f"http_{status}")
        raise TokenRefused(error, str(data.get("error_description") or "")[:300])
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise TokenRefused("invalid_response", "the answer has no access_token")
    kind = str(data.get("token_type") or "bearer")
    if kind.lower() != "bearer":
        raise TokenRefused("invalid_response", f"token_type {kind!r} is not bearer")
    lifetime = DEFAULT_LIFETIME
    raw_life = data.get("expires_in")
    if isinstance(raw_life, int | float | str) and str(raw_life).strip().isdigit():
        lifetime = timedelta(seconds=int(str(raw_life).strip()))
    rotated = data.get("refresh_token")
    return AccessToken(
        value=token,
        issued_at=now,
        expires_at=now + lifetime,
        refresh_token=rotated if isinstance(rotated, str) else "",
        scope=str(data.get("scope") or ""),
    )


def renew_at(token: AccessToken) -> datetime | None:
    """When a login should no longer use this token: MARGIN before it expires, or a quarter of
    its life before when that is less (so a short-lived token is still used). A session logged
    in with it is renewed then too (Exchange Online ends a session whose token expired)."""
    if token.expires_at is None:
        return None
    life = token.expires_at - (token.issued_at or token.expires_at - DEFAULT_LIFETIME)
    return token.expires_at - min(MARGIN, life / 4)


def must_renew(token: AccessToken | None, now: datetime) -> bool:
    """True when a login should not use this token: there is none yet, or it is due for renewal."""
    if token is None or not token.value:
        return True
    due = renew_at(token)
    return due is not None and now >= due


def fingerprint(secret: str) -> str:
    """A short one-way name of a secret: the state file says which configured refresh token it
    superseded without holding it."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Kept:
    """The refresh token kept in the state folder: the current one, and the fingerprint of the
    configured token it superseded (so a token the admin configures later wins again)."""

    refresh_token: str
    supersedes: str

    def __repr__(self) -> str:
        return f"Kept(supersedes={self.supersedes!r})"


def current_refresh_token(configured: str, kept: Kept | None) -> str:
    """The refresh token to present: the kept one while it supersedes what is configured; the
    configured one when there is nothing kept or the admin configured a new one since."""
    if (
        kept is not None
        and kept.refresh_token
        and (not configured or kept.supersedes == fingerprint(configured))
    ):
        return kept.refresh_token
    return configured


def kept_after(configured: str, token: AccessToken, presented: str) -> Kept | None:
    """What to keep after a refresh: the rotated token (superseding what is configured), or
    nothing new when the endpoint kept the one we presented."""
    if not token.refresh_token or token.refresh_token == presented:
        return None
    return Kept(token.refresh_token, fingerprint(configured) if configured else "")


def kept_to_json(kept: Kept) -> str:
    return json.dumps({"refresh_token": kept.refresh_token, "supersedes": kept.supersedes}) + "\n"


def kept_from_json(text: str) -> Kept | None:
    """The kept token from the state file's text; None for a file that holds none."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("refresh_token"), str):
        return None
    return Kept(data["refresh_token"], str(data.get("supersedes") or ""))


def xoauth2(user: str, access_token: str) -> str:
    """The SASL XOAUTH2 initial response, unencoded (Google's and Microsoft's format)."""
    return f"user={user}\x01auth=Bearer {access_token}\x01\x01"


def parse_xoauth2(blob: bytes) -> tuple[str, str]:
    """(user, token) of an XOAUTH2 response; ("", "") when it is not one. For servers (the lab)."""
    parts = blob.decode("utf-8", "replace").split("\x01")
    fields = dict(p.split("=", 1) for p in parts if "=" in p)
    auth = fields.get("auth", "")
    if not auth.lower().startswith("bearer "):
        return "", ""
    return fields.get("user", ""), auth[7:].strip()


def xoauth2_error(scope: str = "") -> bytes:
    """The challenge a server sends on a refused XOAUTH2 token (base64 of a JSON status)."""
    status = {"status": "401", "schemes": "bearer", "scope": scope}
    return base64.b64encode(json.dumps(status).encode("ascii"))


@dataclass(frozen=True)
class DeviceStart:
    """The device flow's first answer (RFC 8628 3.2): what the admin is shown and polls with."""

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    interval: int
    expires_in: int

    def __repr__(self) -> str:
        return f"DeviceStart(user_code={self.user_code!r}, uri={self.verification_uri!r})"


def read_device_start(status: int, body: bytes) -> DeviceStart:
    data = _json_object(body, "device authorization answer")
    if status != 200 or "error" in data:
        raise TokenRefused(
            str(data.get("error") or f"http_{status}"), str(data.get("error_description") or "")
        )
    # Google says verification_url (an older draft's name) where RFC 8628 says verification_uri.
    uri = data.get("verification_uri") or data.get("verification_url")
    code, user_code = data.get("device_code"), data.get("user_code")
    if not (isinstance(code, str) and isinstance(user_code, str) and isinstance(uri, str)):
        raise TokenRefused("invalid_response", "the answer lacks device_code, user_code or URI")
    interval = data.get("interval")
    expires = data.get("expires_in")
    return DeviceStart(
        device_code=code,
        user_code=user_code,
        verification_uri=uri,
        verification_uri_complete=str(data.get("verification_uri_complete") or ""),
        interval=int(interval) if isinstance(interval, int) and interval > 0 else 5,
        expires_in=int(expires) if isinstance(expires, int) and expires > 0 else 900,
    )


class Poll(Enum):
    """What one poll of the device flow means (RFC 8628 3.5)."""

    DONE = "done"
    WAIT = "authorization_pending"
    SLOWER = "slow_down"


def read_device_poll(status: int, body: bytes, now: datetime) -> tuple[Poll, AccessToken | None]:
    """DONE with the token, WAIT, or SLOWER (add 5 s to the interval); TokenRefused for
    `access_denied`, `expired_token` and every other error."""
    try:
        return Poll.DONE, read_token_response(status, body, now)
    except TokenRefused as refused:
        if refused.error == Poll.WAIT.value:
            return Poll.WAIT, None
        if refused.error == Poll.SLOWER.value:
            return Poll.SLOWER, None
        raise


def device_url_for(token_url: str) -> str:
    """The device authorization endpoint beside a known provider's token endpoint, else ""."""
    if token_url.startswith("https://login.microsoftonline.com/") and token_url.endswith(
        "/oauth2/v2.0/token"
    ):
        return token_url.removesuffix("/token") + "/devicecode"
    if token_url in (
        "https://oauth2.googleapis.com/token",
        "https://accounts.google.com/o/oauth2/token",
    ):
        return "https://oauth2.googleapis.com/device/code"
    return ""


# -- the authorization code flow with a loopback redirect (RFC 6749 4.1, RFC 8252, RFC 7636) --
# For providers whose device flow does not offer mail scopes (Google): the admin signs in with
# a browser, which is sent back to http://127.0.0.1:PORT/ with a one-time code.


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of a PKCE verifier (RFC 7636 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def authorization_url(
    endpoint: str, client: Client, redirect_uri: str, state: str, verifier: str
) -> str:
    """Where the admin's browser goes to sign in and consent (offline: a refresh token)."""
    query = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": redirect_uri,
        "scope": client.scope,
        "state": state,
        "code_challenge": pkce_challenge(verifier),
        "code_challenge_method": "S256",
        "access_type": "offline",  # Google: issue a refresh token
        "prompt": "consent",  # Google: issue it again when consent was given before
    }
    return endpoint + ("&" if "?" in endpoint else "?") + urlencode(query)


def code_request(client: Client, code: str, redirect_uri: str, verifier: str) -> bytes:
    """The form body that trades the one-time code for tokens (RFC 6749 4.1.3)."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": client.client_id,
        "code_verifier": verifier,
    }
    if client.client_secret:
        form["client_secret"] = client.client_secret
    return urlencode(form).encode("ascii")


def read_redirect(query: Mapping[str, str], state: str) -> str:
    """The code from the redirect's query, or TokenRefused (an error, or a foreign `state`)."""
    if query.get("error"):
        raise TokenRefused(query["error"], query.get("error_description", ""))
    if query.get("state") != state:
        raise TokenRefused("invalid_request", "the answer is not to this sign-in (state differs)")
    code = query.get("code", "")
    if not code:
        raise TokenRefused("invalid_request", "the answer carries no code")
    return code


def authorization_url_for(token_url: str) -> str:
    """The authorization endpoint beside a known provider's token endpoint, else ""."""
    if token_url.startswith("https://login.microsoftonline.com/") and token_url.endswith(
        "/oauth2/v2.0/token"
    ):
        return token_url.removesuffix("/token") + "/authorize"
    if token_url in (
        "https://oauth2.googleapis.com/token",
        "https://accounts.google.com/o/oauth2/token",
    ):
        return "https://accounts.google.com/o/oauth2/v2/auth"
    return ""
