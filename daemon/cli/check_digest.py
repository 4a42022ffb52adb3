"""`feedbackd check` on the digest's words: templates/digest.LANG.yaml of the digest's language.

A broken words file (YAML, an unknown key, a value that is not text, a placeholder the digest
does not fill) is a problem at its line: the daemon refuses it at load as it refuses a broken
template. A missing file, or a key missing from it, is a warning: the daemon says those words
in its built-in English — that keeps a configuration folder older than the files working —
but the admin should know the meeting gets English and how to change that.
"""

from __future__ import annotations

import re
from pathlib import Path

from daemon.adapters.config import read_digest_sources
from daemon.adapters.packaged import defaults_dir
from daemon.core.mail.compose import Templates
from daemon.core.mail.digest_words import FILE
from daemon.core.report.digest import digest_language
from daemon.core.rules import RuleBook
from daemon.errors import ConfigError, Problem


def check_digest_words(
    templates_dir: str | Path, book: RuleBook | None, rules_path: str
) -> tuple[list[Problem], list[str]]:
    """The problems of every digest words file in the folder, and the warnings about the one
    the rules' digest language needs."""
    folder = Path(templates_dir)
    if not folder.is_dir():  # check_templates says so already
        return [], []
    templates = Templates({}, str(folder), refuse_broken=False, digest=read_digest_sources(folder))
    if book is None or book.digest is None:  # no digest is sent: no language to check
        return templates.digest_problems, []
    language = digest_language(book)
    file = FILE.format(language=language)
    words = templates.digest.get(language)
    if words is None:
        line = language_line(rules_path)
        where = f"{rules_path}:{line}" if line else rules_path
        source = "" if book.digest.language else " (the feedback center owner's language)"
        return templates.digest_problems, [
            f"{where}: warning: the digest is in '{language}'{source} but "
            f"{templates.where(file)} is missing, so it goes out in the built-in English; "
            f"{_shipped_hint(file, 'copy {} there', 'write it from a translated copy of {}')}"
        ]
    if words.missing:
        return templates.digest_problems, [
            f"{templates.where(file)}: warning: no text for {', '.join(words.missing)}; the "
            f"digest says them in English: add them "
            f"({_shipped_hint(file, '{} has them all', '{} has them all')})"
        ]
    return templates.digest_problems, []


def _shipped_hint(file: str, shipped: str, other: str) -> str:
    """`shipped` about the packaged copy of `file`, else `other` about the English one."""
    try:
        folder: Path | None = defaults_dir() / "templates"
    except ConfigError:
        folder = None
    if folder is not None and (folder / file).is_file():
        return shipped.format(folder / file)
    return other.format(folder / FILE.format(language="en") if folder else "digest.en.yaml")


_SECTION = re.compile(r"[A-Za-z_]+:")
_LANGUAGE = re.compile(r"\s+language:")


def language_line(rules_path: str) -> int | None:
    """The line of `digest: language:` in the rules file, else of `digest:`; None when the
    file cannot be read or the section is written in flow style."""
    try:
        lines = Path(rules_path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    section, found = "", None
    for number, text in enumerate(lines, 1):
        if _SECTION.match(text):
            section = text.partition(":")[0]
            if section == "digest":
                found = number
        elif section == "digest" and _LANGUAGE.match(text):
            return number
    return found
