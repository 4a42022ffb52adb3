"""Log lines that journald, grep and a tired admin can all read, and that never hold a password.

- One event per line. A traceback or a customer's multi-line subject would otherwise be split
  into unrelated journal entries, and a crafted subject could forge a fake log line. Line breaks
  and other control characters are escaped (`\\n`, `\\x1b`).
- Under systemd (stderr is the journal stream named by $JOURNAL_STREAM) a line starts with a
  syslog priority, `<3>` error ... `<7>` debug, so `journalctl -p warning` works; the journal
  stamps the time itself. Anywhere else the line starts with a local ISO 8601 timestamp.
- A case number carried in the record (`extra={"case": "FB-2026-000001"}` or `case_log()`)
  is printed as `[FB-2026-000001]`, so `journalctl -u feedbackd -g FB-2026-000001` tells the
  story of one case.
- Passwords registered with `register_secret()` at start-up are replaced by `***` in the final
  text of every line, tracebacks included: redacting only the message would miss the locals an
  exception message quotes.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import TextIO

from daemon.errors import ConfigError

LEVELS = {
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARNING": logging.WARNING,
    "WARN": logging.WARNING,
    "ERROR": logging.ERROR,
    "CRITICAL": logging.CRITICAL,
}

_secrets: set[str] = set()
_secrets_lock = threading.Lock()

# Line breaks (including the Unicode ones str.splitlines honours) and other control characters.
_ESCAPES = {c: f"\\x{c:02x}" for c in [*range(0x09), *range(0x0B, 0x20), 0x7F, 0x85]}
_ESCAPES.update({0x0A: "\\n", 0x0D: "\\r", 0x2028: "\\u2028", 0x2029: "\\u2029"})


def register_secret(value: str) -> None:
    """Never print `value` again: every later log line shows `***` in its place.

    Its repr() form is registered too, since a traceback may quote the value escaped.
    """
    if value:
        with _secrets_lock:
            _secrets.add(value)
            _secrets.add(repr(value)[1:-1])


def forget_secrets() -> None:
    """Drop every registered secret (for tests and for a reload that changes passwords)."""
    with _secrets_lock:
        _secrets.clear()


def redact(text: str) -> str:
    """`text` with every registered secret replaced by `***`, longest secret first."""
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, "***")
    return text


def one_line(text: str) -> str:
    """`text` with line breaks and control characters escaped, so it stays one line."""
    return text.translate(_ESCAPES)


def syslog_priority(levelno: int) -> int:
    """The syslog priority journald files a record under (3 err, 4 warning, 6 info, 7 debug)."""
    if levelno >= logging.CRITICAL:
        return 2
    if levelno >= logging.ERROR:
        return 3
    if levelno >= logging.WARNING:
        return 4
    if levelno >= logging.INFO:
        return 6
    return 7


class LineFormatter(logging.Formatter):
    """Formats a record, traceback and all, as one redacted line."""

    def __init__(self, journal: bool) -> None:
        super().__init__()
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        elif record.exc_text:
            text += "\n" + record.exc_text
        if record.stack_info:
            text += "\n" + self.formatStack(record.stack_info)
        case = getattr(record, "case", None)
        body = f"{record.name}: " + (f"[{case}] " if case else "") + text
        body = one_line(redact(body))
        if self.journal:
            return f"<{syslog_priority(record.levelno)}>{body}"
        when = dt.datetime.fromtimestamp(record.created).astimezone()
        return f"{when.isoformat(timespec='milliseconds')} {record.levelname} {body}"


def case_log(logger: logging.Logger, case_id: str) -> logging.LoggerAdapter[logging.Logger]:
    """A logger whose every line carries `[case_id]`."""
    return logging.LoggerAdapter(logger, {"case": case_id})


def parse_level(level: str | int) -> int:
    """`--log-level` / FEEDBACKD_LOG_LEVEL as a logging level; a bad name is a config error."""
    if isinstance(level, int):
        return level
    try:
        return LEVELS[level.strip().upper()]
    except KeyError:
        raise ConfigError(
            f"log level {level!r} is not valid: set debug, info, warning or error"
        ) from None


def is_journal(stream: TextIO, env: Mapping[str, str]) -> bool:
    """True when `stream` is the journal connection systemd named in $JOURNAL_STREAM.

    systemd sets JOURNAL_STREAM=DEVICE:INODE of the stderr it connected; comparing it with the
    stream itself (as systemd.exec(5) advises) keeps a child whose stderr was redirected to a
    file from writing `<6>` prefixes into that file.
    """
    value = env.get("JOURNAL_STREAM", "")
    dev, _, ino = value.partition(":")
    if not (dev.isdigit() and ino.isdigit()):
        return False
    try:
        st = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return False
    return (st.st_dev, st.st_ino) == (int(dev), int(ino))


def setup_logging(
    level: str | int = "INFO",
    *,
    stream: TextIO | None = None,
    env: Mapping[str, str] | None = None,
    journal: bool | None = None,
    capture_uncaught: bool = True,
) -> logging.Handler:
    """Send every log record to stderr (or `stream`) as one line; return the handler.

    `journal=None` detects the journal from $JOURNAL_STREAM. Calling it again replaces the
    handler it installed before. With `capture_uncaught`, an exception nobody caught (main
    thread or another thread) is logged as one redacted CRITICAL line instead of Python's
    multi-line, unredacted default.
    """
    levelno = parse_level(level)
    stream = sys.stderr if stream is None else stream
    env = os.environ if env is None else env
    if journal is None:
        journal = is_journal(stream, env)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(LineFormatter(journal))
    handler.set_name("feedbackd")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "feedbackd"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(levelno)
    logging.captureWarnings(True)
    if capture_uncaught:
        sys.excepthook = _log_uncaught
        threading.excepthook = _log_uncaught_thread
    return handler


def _log_uncaught(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    logging.getLogger("feedbackd").critical("uncaught exception", exc_info=(exc_type, exc, tb))


def _log_uncaught_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None or issubclass(args.exc_type, SystemExit):
        return
    name = args.thread.name if args.thread else "?"
    logging.getLogger("feedbackd").critical(
        "uncaught exception in thread %s",
        name,
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )
