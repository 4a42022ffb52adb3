"""One error tree, split by what the caller must do about it.

- ConfigError: a person must fix a file or a setting. The daemon exits 78 (EX_CONFIG) so that
  systemd's RestartPreventExitStatus stops a restart loop; `check` prints every problem at once.
- AuthRefused: the mail server refused our login. A person must fix the password (so `once`
  exits 78 like any ConfigError), but the running daemon keeps retrying with backoff and
  alerts the feedback center: the password may be fixed on the server's side.
- TransientError: a server is down or slow. Retry with backoff; never drop anything.
- AlreadyRunning: another daemon holds the store. Exit 75 (EX_TEMPFAIL): try again later.
- BadMessage: one message cannot be handled. Quarantine it, report it, carry on with the rest.

Each class carries the process exit status its kind of failure means (`exit_code`), so the
command line reads it from the error it caught instead of knowing every class. The connection
failures also subclass the builtin ConnectionError, so the daemon's retry loop catches "the
mail server is away or refuses us" as one kind, together with a plain OSError.
"""

from __future__ import annotations

from dataclasses import dataclass

EX_SOFTWARE = 1
EX_TEMPFAIL = 75
EX_CONFIG = 78
#: Where a ConfigError is located when it comes from the rule book but is found where a value is
#: used, not by the loader (which knows file and line): the caller that knows the file says so.
RULE_BOOK = "rules"


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a file, located so that the user can go straight to it."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.message}"


class FeedbackdError(Exception):
    """Root of every error feedbackd raises on purpose."""

    exit_code: int = EX_SOFTWARE


class ConfigError(FeedbackdError):
    """Settings, rules or templates that a person must fix; carries every problem found.

    A plain message is located in `source`: "settings" for the environment, RULE_BOOK for a
    value that came from the rule book but is checked where it is used.
    """

    exit_code = EX_CONFIG

    def __init__(self, problems: list[Problem] | str, source: str = "settings"):
        if isinstance(problems, str):
            problems = [Problem(source, None, problems)]
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class TransientError(FeedbackdError, ConnectionError):
    """A server could not be reached or failed for now; the caller retries later.

    `maybe_sent` marks a send that broke after the message data went out: the server may have
    taken it, so a retry must first look for evidence that it did.
    """

    def __init__(self, message: str, maybe_sent: bool = False):
        super().__init__(message)
        self.maybe_sent = maybe_sent


class AuthRefused(ConfigError, ConnectionError):
    """The server refused the login: a person must fix the user or password."""


class AlreadyRunning(FeedbackdError):
    """Another feedbackd holds the store's lock; one daemon per store."""

    exit_code = EX_TEMPFAIL


class PermanentSendError(FeedbackdError):
    """The SMTP server refused a mail for good (5xx); retrying will not help."""

    def __init__(self, code: int, reason: str):
        self.code = code
        self.reason = reason
        super().__init__(f"{code} {reason}")


class BadMessage(FeedbackdError):
    """A message that cannot be processed; it goes to quarantine with this reason."""


class Throttled(TransientError):
    """The server asked us to slow down (421, 4.7.x, a 5xx naming a rate or limit): the mail was
    not taken. `tried` is False for mail not even offered, because an earlier one was refused so.
    The outbox pauses and sends it later; it is neither failed nor counted as an attempt."""

    def __init__(self, message: str, tried: bool = True):
        super().__init__(message)
        self.tried = tried
