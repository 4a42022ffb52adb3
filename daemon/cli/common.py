"""What every command that works for a while does first: settings read, logging on stderr
(the journal's format under systemd), and every password known to the redactor before the
first line is logged. Progress lines of long work (`purge`, `report`, `import`) are log lines,
so a command without this would work in silence where no terminal shows its bar."""

from __future__ import annotations

import argparse

from daemon.adapters.logs import register_secret, setup_logging
from daemon.adapters.settings import Settings, load_settings


def logged_settings(
    args: argparse.Namespace, need_servers: bool = True, level: str | None = None
) -> Settings:
    """`level` instead of FEEDBACKD_LOG_LEVEL for a command whose own output is the point
    (`doctor`: only the adapters' warnings beside it); `--log-level` wins over both."""
    settings = load_settings(need_servers=need_servers)
    setup_logging(args.log_level or level or settings.log_level)
    for secret in settings.secrets:
        register_secret(secret)
    return settings
