"""`feedbackd oauth2 authorize`: the device flow (RFC 8628), once, to obtain the refresh token
an admin's consent gives, and keep it where the daemon looks for it.

Why the device flow: the daemon's host has a terminal but rarely a browser. The admin opens
the printed address on any device, signs in as the feedback mailbox (or as someone who may
consent for it), enters the code; this command polls the token endpoint meanwhile, at the
interval the endpoint asked for, slower when told `slow_down`, and stops on `access_denied`
or `expired_token` with one line saying what happened. The refresh token is kept as a rotated
one is (adapters/oauth2: 0600, atomic, beside the store) and supersedes whatever
FEEDBACKD_OAUTH2_REFRESH_TOKEN says now, until that setting changes.

Google's device flow offers no mail scope, so `--browser` runs the authorization code flow of
RFC 8252 instead: a browser signs in and is sent back to a loopback address this command
listens on (or the admin pastes the address it was sent to), with PKCE (RFC 7636) so that a
code caught by anyone else is worth nothing.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from daemon.adapters.logs import register_secret
from daemon.adapters.oauth2 import Tokens, client_of, post_form
from daemon.adapters.settings import OAuth2Settings
from daemon.core.oauth2 import (
    AccessToken,
    Grant,
    Poll,
    TokenRefused,
    authorization_url,
    authorization_url_for,
    code_request,
    device_request,
    device_token_request,
    device_url_for,
    fingerprint,
    read_device_poll,
    read_device_start,
    read_redirect,
    read_token_response,
)
from daemon.core.oauth2 import Kept as Kept
from daemon.errors import AuthRefused, ConfigError

SLOW_DOWN = 5  # seconds RFC 8628 3.5 adds to the interval on each `slow_down`


def authorize(
    settings: OAuth2Settings,
    device_url: str,
    show: Callable[[str], None],
    post: Callable[[str, bytes, str | None], tuple[int, bytes]] = post_form,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Path:
    """Run the device flow; keep the refresh token; return the file that holds it."""
    _refresh_grant_only(settings)
    url = device_url or device_url_for(settings.token_url)
    if not url:
        raise ConfigError(
            f"no device authorization endpoint is known for {settings.token_url}: give it with "
            "--device-url (the provider's device code endpoint)"
        )
    client = client_of(settings)
    host = urlsplit(url).netloc
    try:
        start = read_device_start(*post(url, device_request(client), settings.ca_file))
    except TokenRefused as refused:
        raise AuthRefused(f"device authorization at {host} refused: {refused}") from None
    show(f"Open {start.verification_uri} and enter the code {start.user_code}")
    if start.verification_uri_complete:
        show(f"(or open {start.verification_uri_complete})")
    show(f"Waiting for the sign-in (up to {start.expires_in // 60} min) ...")
    interval = start.interval
    deadline = clock() + start.expires_in
    body = device_token_request(client, start.device_code)
    while True:
        sleep(interval)
        if clock() > deadline:
            raise AuthRefused("the code expired before the sign-in: run the command again")
        status, answer = post(settings.token_url, body, settings.ca_file)
        try:
            poll, token = read_device_poll(status, answer, datetime.now(UTC))
        except TokenRefused as refused:
            if refused.error == "access_denied":
                raise AuthRefused(
                    "the sign-in was declined (access_denied): nothing was kept"
                ) from None
            if refused.error == "expired_token":
                raise AuthRefused(
                    "the code expired before the sign-in: run the command again"
                ) from None
            raise AuthRefused(f"the token endpoint {host} refused: {refused}") from None
        if poll is Poll.SLOWER:
            interval += SLOW_DOWN
        if token is None:
            continue
        return _keep(settings, token, post)


def _keep(
    settings: OAuth2Settings,
    token: AccessToken,
    post: Callable[[str, bytes, str | None], tuple[int, bytes]],
) -> Path:
    """Keep the consent's refresh token where the daemon looks first; the file's path."""
    register_secret(token.value)
    if not token.refresh_token:
        raise AuthRefused(
            "the endpoint gave an access token but no refresh token: ask for offline "
            "access (Microsoft: add offline_access to FEEDBACKD_OAUTH2_SCOPE)"
        )
    register_secret(token.refresh_token)
    configured = settings.refresh_token.reveal()
    keeper = Tokens(settings, post=post)
    keeper.keep(Kept(token.refresh_token, fingerprint(configured) if configured else ""))
    return keeper.paths.oauth2


def authorize_in_browser(
    settings: OAuth2Settings,
    auth_url: str,
    redirect_uri: str,
    show: Callable[[str], None],
    answer: Callable[[], Mapping[str, str]],
    post: Callable[[str, bytes, str | None], tuple[int, bytes]] = post_form,
) -> Path:
    """The authorization code flow with PKCE and a loopback redirect (RFC 8252): for providers
    whose device flow offers no mail scope (Google). `answer` waits for the redirect's query
    (caught on `redirect_uri`, or pasted by the admin); keep the refresh token it yields."""
    _refresh_grant_only(settings)
    url = auth_url or authorization_url_for(settings.token_url)
    if not url:
        raise ConfigError(
            f"no authorization endpoint is known for {settings.token_url}: give it with "
            "--auth-url (the provider's authorize endpoint)"
        )
    client = client_of(settings)
    verifier, state = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
    show("Open this address in a browser and sign in as the feedback mailbox:")
    show(authorization_url(url, client, redirect_uri, state, verifier))
    try:
        code = read_redirect(answer(), state)
    except TokenRefused as refused:
        raise AuthRefused(f"the sign-in did not complete ({refused}): nothing was kept") from None
    register_secret(code)
    host = urlsplit(settings.token_url).netloc
    status, body = post(
        settings.token_url, code_request(client, code, redirect_uri, verifier), settings.ca_file
    )
    try:
        token = read_token_response(status, body, datetime.now(UTC))
    except TokenRefused as refused:
        raise AuthRefused(f"the token endpoint {host} refused the code: {refused}") from None
    return _keep(settings, token, post)


def _refresh_grant_only(settings: OAuth2Settings) -> None:
    if settings.grant != Grant.REFRESH_TOKEN.value:
        raise ConfigError(
            "FEEDBACKD_OAUTH2_GRANT=client_credentials needs no authorization: the client "
            "secret is the application's own access (unset the grant for a user's consent)"
        )
