"""Where the configuration lives: one discovery order for the daemon and for every command.

An admin who installed a wheel has no source tree, and types `feedbackd cases list` in a root
shell that never sourced the unit's env file. So the service and every command find their files
the same way, first found wins:

1. `--config DIR` on the command line;
2. FEEDBACKD_CONFIG_DIR;
3. /etc/feedbackd, when that folder exists;
4. the defaults packaged with feedbackd (their rules.yaml and templates/, no settings).

In the chosen folder, `feedbackd.env` (systemd's EnvironmentFile= syntax) is read as defaults
beneath the real environment: under systemd the unit has passed the same values already, and a
variable set in the shell wins over the file. The file cannot move the folder itself. The store
is FEEDBACKD_DB, else `store.json` in $STATE_DIRECTORY (systemd's StateDirectory=), else
/var/lib/feedbackd/store.json: where the unit keeps it.

`--instance NAME` is the same for one instance of the template unit `feedbackd@NAME`: its
settings are `NAME.env` in the folder, its store /var/lib/feedbackd-NAME/store.json, and its
passwords, like the unit's LoadCredential=, the folder's `NAME.imap-password` and
`NAME.smtp-password` (without an instance: `imap-password`, `smtp-password`).

The env file is parsed here rather than with a .env library: those follow shell rules (inline
`#` comments, `$VAR` expansion) that systemd does not, and would read a password holding " #"
differently from the service.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from daemon.adapters.packaged import ENV, defaults_dir
from daemon.errors import ConfigError, Problem

SYSTEM_DIR = Path("/etc/feedbackd")
STATE_DIR = Path("/var/lib/feedbackd")
STORE_FILE = "store.json"
CONFIG_VARIABLE = "FEEDBACKD_CONFIG_DIR"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_INSTANCE = re.compile(r"[a-z0-9][a-z0-9-]{0,20}\Z")  # docs/service.md: what a NAME may be

#: The `--config` and `--instance` of this run of the command line; set by `daemon.cli.main`.
_option: str | None = None
_instance: str | None = None


class Source(StrEnum):
    """Which step of the discovery order chose the configuration folder."""

    OPTION = "--config"
    VARIABLE = CONFIG_VARIABLE
    SYSTEM = str(SYSTEM_DIR)
    PACKAGED = "the packaged defaults"


@dataclass(frozen=True)
class ConfigDir:
    path: Path
    source: Source
    instance: str | None = None  # `--instance NAME`: the template unit's feedbackd@NAME

    @property
    def env_file(self) -> Path | None:
        """The settings file read beneath the environment; the packaged defaults have none."""
        if self.source is Source.PACKAGED:
            return None
        return self.path / (f"{self.instance}.env" if self.instance else ENV)

    def credential(self, name: str) -> Path | None:
        """The file the unit's LoadCredential= reads the credential `name` from
        (`imap-password`, `oauth2-client-secret`, …)."""
        if self.source is Source.PACKAGED:
            return None
        return self.path / (f"{self.instance}.{name}" if self.instance else name)


@dataclass(frozen=True)
class Environment:
    """The variables a command works with: the real environment over the folder's env file."""

    values: dict[str, str]
    config: ConfigDir
    unread: str | None = None  # why an existing env file could not be read (not as root?)


def use_config_option(value: str | None, instance: str | None = None) -> None:
    """Remember this run's `--config` and `--instance` (None: not given), for every setting
    read after it."""
    global _option, _instance
    if instance is not None and not _INSTANCE.match(instance):
        raise ConfigError(
            f"--instance {instance!r} is not an instance name: use the NAME of "
            "feedbackd@NAME (lowercase letters, digits and '-', at most 21 characters)"
        )
    _option, _instance = value, instance


def config_dir(env: Mapping[str, str], option: str | None = None) -> ConfigDir:
    """The configuration folder, by the discovery order of this module's docstring."""
    option = option or _option
    if option:
        return ConfigDir(Path(option), Source.OPTION, _instance)
    if env.get(CONFIG_VARIABLE):
        return ConfigDir(Path(env[CONFIG_VARIABLE]), Source.VARIABLE, _instance)
    if SYSTEM_DIR.is_dir():
        return ConfigDir(SYSTEM_DIR, Source.SYSTEM, _instance)
    return ConfigDir(defaults_dir(), Source.PACKAGED, _instance)


def environment(base: Mapping[str, str] | None = None, option: str | None = None) -> Environment:
    """`base` (default: the process environment) over the chosen folder's `feedbackd.env`.

    `option` defaults to this run's `--config`. A folder named by `--config` or
    FEEDBACKD_CONFIG_DIR must exist; a missing env file is no error (everything may come from
    the environment), an unreadable one is remembered for the error it may explain.
    """
    base = os.environ if base is None else base
    chosen = config_dir(base, option)
    if chosen.source in (Source.OPTION, Source.VARIABLE) and not chosen.path.is_dir():
        raise ConfigError(
            f"the configuration folder {chosen.path} (from {chosen.source.value}) does not "
            f"exist: write one with `feedbackd init {chosen.path}`, or fix the path"
        )
    values: dict[str, str] = {}
    unread = None
    file = chosen.env_file
    if file is not None and file.exists():
        try:
            values = read_env_file(file)
        except OSError as exc:
            unread = exc.strerror or str(exc)
    values.pop(CONFIG_VARIABLE, None)
    values.update(base)
    if chosen.source in (Source.OPTION, Source.VARIABLE):
        values[CONFIG_VARIABLE] = str(chosen.path)
    return Environment(values, chosen, unread)


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines as systemd's EnvironmentFile= reads them; ConfigError on a bad line."""
    values: dict[str, str] = {}
    problems = []
    for no, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not _NAME.match(key):
            problems.append(Problem(str(path), no, "not a setting: write NAME=value, one per line"))
            continue
        values[key] = _unquote(value.strip())
    if problems:
        raise ConfigError(problems)
    return values


def _unquote(value: str) -> str:
    """A value in matching quotes loses them; in double quotes, a backslash escapes."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        inner = value[1:-1]
        return re.sub(r"\\(.)", r"\1", inner) if value[0] == '"' else inner
    return value


def store_path(env: Mapping[str, str]) -> Path:
    """FEEDBACKD_DB, else store.json in systemd's state directory, else in /var/lib/feedbackd
    (/var/lib/feedbackd-NAME with `--instance NAME`)."""
    if env.get("FEEDBACKD_DB"):
        return Path(env["FEEDBACKD_DB"])
    state = env.get("STATE_DIRECTORY", "").split(":")[0]
    if not state and _instance:
        return STATE_DIR.with_name(f"{STATE_DIR.name}-{_instance}") / STORE_FILE
    return Path(state or STATE_DIR) / STORE_FILE
