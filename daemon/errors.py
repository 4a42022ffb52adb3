"""One error tree, split by what the caller must do about it.

- ConfigError: a person must fix a file or a setting. The daemon exits 78 (EX_CONFIG) so that
  systemd's RestartPreventExitStatus stops a restart loop; `check` prints every problem at once.
- TransientError: a server is down or slow. Retry with backoff; never drop anything.
- BadMessage: one message cannot be handled. Quarantine it, report it, carry on with the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

EX_CONFIG = 78


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


class ConfigError(FeedbackdError):
    """Settings, rules or templates that a person must fix; carries every problem found."""

    exit_code = EX_CONFIG

    def __init__(self, problems: list[Problem] | str):
        if isinstance(problems, str):
            problems = [Problem("settings", None, problems)]
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class TransientError(FeedbackdError):
    """A server could not be reached or failed for now; the caller retries later.

    `maybe_sent` marks a send that broke after the message data went out: the server may have
    taken it, so a retry must first look for evidence that it did.
    """

    def __init__(self, message: str, maybe_sent: bool = False):
        super().__init__(message)
        self.maybe_sent = maybe_sent


class PermanentSendError(FeedbackdError):
    """The SMTP server refused a mail for good (5xx); retrying will not help."""

    def __init__(self, code: int, reason: str):
        self.code = code
        self.reason = reason
        super().__init__(f"{code} {reason}")


class BadMessage(FeedbackdError):
    """A message that cannot be processed; it goes to quarantine with this reason."""
