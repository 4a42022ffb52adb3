"""`feedbackd oauth2 authorize`: obtain the first refresh token at a terminal, with the device
flow (the default: Microsoft 365) or a browser sign-in sent back to this host (`--browser`:
Google, whose device flow offers no mail scope)."""

from __future__ import annotations

import argparse
import select
import sys
import time
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlsplit

from daemon.adapters.configdir import environment, store_path
from daemon.adapters.logs import register_secret
from daemon.adapters.oauth2 import LoopbackRedirect
from daemon.adapters.settings import oauth2_settings
from daemon.errors import AuthRefused
from daemon.service.authorize import authorize, authorize_in_browser

BROWSER_WAIT = 600.0  # seconds for the admin to sign in


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `oauth2 authorize` to the CLI's subcommands."""
    oauth2 = sub.add_parser("oauth2", help="OAuth2 sign-in for the mailbox (Microsoft 365, Google)")
    words = oauth2.add_subparsers(dest="oauth2_command", required=True)
    auth = words.add_parser(
        "authorize",
        help="sign in once (device flow, or --browser) and keep the refresh token the daemon uses",
    )
    auth.add_argument(
        "--device-url",
        default="",
        help="the provider's device authorization endpoint (default: derived from "
        "FEEDBACKD_OAUTH2_TOKEN_URL for Microsoft and Google)",
    )
    auth.add_argument(
        "--browser",
        action="store_true",
        help="sign in with a browser sent back to this host instead of the device flow "
        "(needed for Google)",
    )
    auth.add_argument(
        "--auth-url",
        default="",
        help="with --browser: the provider's authorization endpoint (default: derived from "
        "FEEDBACKD_OAUTH2_TOKEN_URL for Microsoft and Google)",
    )
    auth.set_defaults(handler=authorize_command)


def authorize_command(args: argparse.Namespace) -> int:
    env = environment().values
    settings = oauth2_settings(env, store_path(env), need_refresh_token=False)
    for secret in settings.secrets:
        register_secret(secret)

    def show(line: str) -> None:
        print(line, flush=True)

    if not args.browser:
        kept = authorize(settings, args.device_url, show)
    else:
        catcher = LoopbackRedirect()

        def show_and_explain(line: str) -> None:
            show(line)
            _after_url(line, catcher)

        try:
            kept = authorize_in_browser(
                settings,
                args.auth_url,
                catcher.redirect_uri,
                show_and_explain,
                lambda: _answer(catcher),
            )
        finally:
            catcher.close()
    show(f"Signed in. The refresh token is kept in {kept} (0600); feedbackd uses it from now on.")
    return 0


def _after_url(line: str, catcher: LoopbackRedirect) -> None:
    if line.startswith(("https://", "http://")):
        print(
            f"The browser is sent back to {catcher.redirect_uri}. From another machine, forward "
            f"the port first (ssh -L {catcher.port}:127.0.0.1:{catcher.port} THIS-HOST), or paste "
            "here the address the browser shows after the sign-in and press Enter.",
            flush=True,
        )


def _answer(catcher: LoopbackRedirect) -> Mapping[str, str]:
    """The redirect's query: caught by the listener, or pasted on standard input."""
    deadline = time.monotonic() + BROWSER_WAIT
    while time.monotonic() < deadline:
        caught = catcher.wait(0.2)
        if caught is not None:
            return caught
        if sys.stdin is not None and not sys.stdin.closed:
            ready, _, _ = select.select([sys.stdin], [], [], 0)
            if ready:
                line = sys.stdin.readline().strip()
                if line:
                    return dict(parse_qsl(urlsplit(line).query or line))
    raise AuthRefused("no sign-in within 10 minutes: run the command again")
