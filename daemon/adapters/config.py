"""The admin's configuration files read from disk: rules.yaml and the template folder.

The core compiles text (daemon.core.rules.build, daemon.core.mail.compose.Templates); this is
the one place that opens those files, so an unreadable file becomes the same located
ConfigError for the daemon, for `feedbackd check` and for every command that needs the rules.
"""

from __future__ import annotations

from pathlib import Path

from daemon.adapters.morphology import default_lemmatizer
from daemon.core.mail.compose import Templates
from daemon.core.rules import Built, RuleBook, build
from daemon.core.rules.yamlsrc import Report
from daemon.errors import ConfigError, Problem


def build_rulebook(path: str | Path) -> Built:
    """Every problem of the rules file at `path`, a read error included (for `check`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        report = Report(str(path))
        reason = getattr(exc, "strerror", None) or str(exc)
        report.add(
            None,
            f"cannot read the rules file: {reason}; check the path "
            f"(--rules or FEEDBACKD_RULES) and that it is UTF-8",
        )
        return Built(report)
    return build(text, str(path), default_lemmatizer())


def load_rulebook(path: str | Path) -> RuleBook:
    """The compiled rule book, or ConfigError with every problem in the file."""
    return build_rulebook(path).require()


def read_template_sources(folder: str | Path) -> dict[str, str]:
    """Name -> text of every `*.j2` in `folder`, in name order."""
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(Path(folder).glob("*.j2"))}


#: The digest's words per language in the template folder (daemon.core.mail.digest_words).
DIGEST_GLOB = "digest.*.yaml"


def read_digest_sources(folder: str | Path) -> dict[str, str]:
    """Name -> text of every `digest.LANG.yaml` in `folder`, in name order."""
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(Path(folder).glob(DIGEST_GLOB))}


def load_templates(folder: str | Path) -> Templates:
    """The template folder (its templates and the digest's words), read and compiled, or
    ConfigError naming each broken file."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(
            [Problem(str(folder), None, "template folder not found: set FEEDBACKD_TEMPLATES")]
        )
    return Templates(read_template_sources(folder), str(folder), digest=read_digest_sources(folder))
