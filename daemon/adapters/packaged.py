"""The defaults packaged with feedbackd, and the starting configuration `feedbackd init` writes.

A wheel or sdist carries the repository's top-level rules.yaml, templates/, systemd/ and docs/
as the data folder `daemon/defaults/` (pyproject.toml maps it; the repository keeps the one copy
where the design puts it). They are found with importlib.resources, so an installed feedbackd
needs no source tree; in a source checkout (an editable install) the repository's own
top-level files are the defaults, since nothing was copied.

The shipped rules name people at `@example.…` addresses. `init` copies them with every such
line marked PLACEHOLDER, and `check` warns while one is left in a live configuration.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from daemon.adapters.config import DIGEST_GLOB
from daemon.errors import ConfigError

DATA = "defaults"  # the folder inside the installed package
ENV = "feedbackd.env"  # the settings file of a configuration folder
PLACEHOLDER = "PLACEHOLDER"
#: The top-level sections of rules.yaml whose addresses are the organisation's own people.
ADDRESS_SECTIONS = ("policy", "owners", "categories", "digest")
_ADDRESS = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)")


def defaults_dir() -> Path:
    """The folder holding the packaged rules.yaml, templates/, systemd/ and docs/."""
    package = resources.files("daemon")
    if not isinstance(package, Path):
        raise ConfigError(
            f"feedbackd is installed inside an archive ({package}); its defaults cannot be "
            "read from there: install it unpacked (pip and pipx do)"
        )
    for candidate in (package / DATA, package.parent):  # installed; a source checkout
        if (candidate / "rules.yaml").is_file() and (candidate / "templates").is_dir():
            return candidate
    raise ConfigError(
        f"the packaged defaults are missing from {package / DATA}: reinstall feedbackd, "
        "or name your configuration with --config DIR"
    )


def is_packaged_rules(path: str | Path) -> bool:
    """True when `path` is the packaged rules.yaml itself, not an admin's own copy."""
    try:
        return Path(path).resolve() == (defaults_dir() / "rules.yaml").resolve()
    except ConfigError:  # no packaged defaults at all: then `path` is not one of them
        return False


def is_placeholder(address: str) -> bool:
    """An address at a domain reserved for examples (RFC 2606): example.com, x.example …"""
    domain = address.rpartition("@")[2].lower()
    return domain.startswith("example.") or domain.endswith(".example")


def marked_rules(text: str, version: str) -> str:
    """The shipped rules with a header for the admin and every placeholder address marked."""
    out = [
        "# feedbackd rules of your organisation, written by `feedbackd init` from the defaults",
        f"# of feedbackd {version}. Lines marked {PLACEHOLDER} hold example addresses: put the",
        "# real ones of your people there before the service goes live (`feedbackd check` warns",
        "# while one is left). Categories, deadlines and words are a working start: adapt them.",
    ]
    section = ""
    for line in text.splitlines()[1:]:  # the first line says these are the shipped defaults
        if re.match(r"[a-z_]+:", line):
            section = line.partition(":")[0]
        stripped = line.lstrip()
        shown = stripped.partition(" #")[0]
        if (
            section in ADDRESS_SECTIONS
            and not stripped.startswith("#")
            and any(is_placeholder(m.group(0)) for m in _ADDRESS.finditer(shown))
        ):
            note = f"# {PLACEHOLDER}: put a real address here"
            line = f"{line}  {note}" if " #" not in line else line.replace(" #", f"  {note};", 1)
        out.append(line)
    return "\n".join(out) + "\n"


def starting_env(example: str, folder: Path) -> str:
    """The env example, introduced as the settings file of `folder`."""
    folder = folder.absolute()
    head = [
        f"# The settings of the feedbackd configuration in {folder}, written by `feedbackd init`.",
        "# Every command (and the service) reads this file beneath the real environment when it",
        f"# uses this folder: it is found as /etc/feedbackd, or with --config {folder}, or with",
        f"# FEEDBACKD_CONFIG_DIR={folder}. Set the required values (not commented out) below.",
        "#",
    ]
    return "\n".join(head) + "\n" + example


@dataclass(frozen=True)
class StartingFile:
    path: Path
    text: str
    mode: int


def starting_config(folder: Path, version: str) -> list[StartingFile]:
    """What `feedbackd init folder` writes: rules, templates (with the digest's words) and
    settings, with their modes.

    The settings may come to hold passwords, so they are for the owner only; rules and
    templates are read by the service's unprivileged user, so everyone may read them.
    """
    source = defaults_dir()
    files = [
        StartingFile(
            folder / "rules.yaml",
            marked_rules((source / "rules.yaml").read_text(encoding="utf-8"), version),
            0o644,
        ),
        StartingFile(
            folder / ENV,
            starting_env(
                (source / "systemd" / "feedbackd.env.example").read_text(encoding="utf-8"),
                folder,
            ),
            0o600,
        ),
    ]
    shipped = [*(source / "templates").glob("*.j2"), *(source / "templates").glob(DIGEST_GLOB)]
    for template in sorted(shipped):
        files.append(
            StartingFile(
                folder / "templates" / template.name, template.read_text(encoding="utf-8"), 0o644
            )
        )
    return files


def write_starting_config(folder: Path, version: str) -> list[Path]:
    """Write `starting_config(folder, version)`; refuse (FileExistsError, nothing written) if any of
    its files, or its templates folder, exists already."""
    files = starting_config(folder, version)
    taken = [p for p in (folder / "rules.yaml", folder / ENV, folder / "templates") if p.exists()]
    if taken:
        raise FileExistsError(", ".join(str(p) for p in taken))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "templates").mkdir(mode=0o755)
    (folder / "templates").chmod(0o755)
    for f in files:  # O_EXCL: an existing file is never overwritten, even in a race
        fd = os.open(f.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, f.mode)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            os.fchmod(fd, f.mode)  # exactly this mode, whatever the umask
            out.write(f.text)
    return [f.path for f in files]
