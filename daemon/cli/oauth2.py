"""`feedbackd oauth2 authorize`: obtain the first refresh token at a terminal (device flow)."""

from __future__ import annotations

import argparse

from daemon.adapters.configdir import environment, store_path
from daemon.adapters.logs import register_secret
from daemon.adapters.settings import oauth2_settings
from daemon.service.authorize import authorize


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `oauth2 authorize` to the CLI's subcommands."""
    oauth2 = sub.add_parser("oauth2", help="OAuth2 sign-in for the mailbox (Microsoft 365, Google)")
    words = oauth2.add_subparsers(dest="oauth2_command", required=True)
    auth = words.add_parser(
        "authorize",
        help="sign in once with the device flow and keep the refresh token the daemon uses",
    )
    auth.add_argument(
        "--device-url",
        default="",
        help="the provider's device authorization endpoint (default: derived from "
        "FEEDBACKD_OAUTH2_TOKEN_URL for Microsoft and Google)",
    )
    auth.set_defaults(handler=authorize_command)


def authorize_command(args: argparse.Namespace) -> int:
    env = environment().values
    settings = oauth2_settings(env, store_path(env), need_refresh_token=False)
    for secret in settings.secrets:
        register_secret(secret)
    kept = authorize(settings, args.device_url, lambda line: print(line, flush=True))
    print(f"Signed in. The refresh token is kept in {kept} (0600); feedbackd uses it from now on.")
    return 0
