"""The unit files: valid for systemd, hardened, in step with each other and with the settings.

`systemd-analyze` works without systemd running (Debian package `systemd`). `verify` refuses a
unit whose ExecStart program is missing, so the units are checked from a temp copy whose
ExecStart points at a program that exists; unknown or misspelt keys only print a warning, so
the test reads stderr as well as the exit status. Under CI=true a missing systemd-analyze is a
failure: a skipped check there would let a broken unit ship.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import REPO

from daemon.adapters.settings import VARIABLES, load_settings

pytestmark = pytest.mark.systemd

UNITS = REPO / "systemd"
ENV_EXAMPLE = UNITS / "feedbackd.env.example"
MAX_EXPOSURE = 2.0
REACHED_EXPOSURE = 1.1  # measured with systemd 252 (Debian 12); see docs/service.md

# Lines in which the per-mailbox template may differ from the single unit.
INSTANCE_KEYS = {
    "Description",
    "ExecStart",
    "ExecReload",
    "Environment",
    "EnvironmentFile",
    "LoadCredential",
    "User",
    "StateDirectory",
}


def systemd_analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path:
        return path
    message = "systemd-analyze not found: install the Debian package 'systemd'"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (CI=true: this check must not be skipped)")
    pytest.skip(message)


def runnable_copy(unit: str, dest: Path, name: str | None = None) -> Path:
    """`unit` copied to `dest` with ExecStart pointing at a program that exists here."""
    venv_cmd = Path(sys.executable).parent / "feedbackd"
    program = str(venv_cmd) if venv_cmd.exists() else shutil.which("true") or "/bin/true"
    text = (UNITS / unit).read_text(encoding="utf-8")
    text, count = re.subn(r"(?m)^ExecStart=\S+", f"ExecStart={program}", text)
    assert count == 1, f"{unit} must have exactly one ExecStart="
    text = re.sub(r"(?m)^ExecReload=\S+", f"ExecReload={program}", text)
    out = dest / (name or unit)
    out.write_text(text, encoding="utf-8")
    return out


def verify(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [systemd_analyze(), "verify", "--man=no", str(path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


def complaints_about(result: subprocess.CompletedProcess[str], path: Path) -> list[str]:
    return [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if path.name in line or str(path) in line
    ]


@pytest.mark.parametrize(
    "unit,name",
    [
        ("feedbackd.service", None),
        ("feedbackd@.service", None),
        ("feedbackd@.service", "feedbackd@sales.service"),
    ],
)
def test_unit_verifies_without_warnings(tmp_path, unit, name) -> None:
    path = runnable_copy(unit, tmp_path, name)
    result = verify(path)
    print(result.stderr)
    assert result.returncode == 0, result.stderr
    assert complaints_about(result, path) == []


def test_the_warning_check_catches_an_unknown_key(tmp_path) -> None:
    """Guard for the test above: a misspelt key exits 0 and must still be caught."""
    path = runnable_copy("feedbackd.service", tmp_path)
    path.write_text(path.read_text().replace("UMask=", "ProtectSytem=strict\nUMask="))
    result = verify(path)
    assert result.returncode == 0
    assert any("ProtectSytem" in line for line in complaints_about(result, path))


@pytest.mark.parametrize("unit", ["feedbackd.service", "feedbackd@.service"])
def test_security_exposure(unit) -> None:
    result = subprocess.run(
        [systemd_analyze(), "security", "--offline=yes", "--no-pager", str(UNITS / unit)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout + result.stderr)
    assert m, result.stdout + result.stderr
    exposure = float(m.group(1))
    print(f"{unit}: systemd-analyze security exposure {exposure}")
    assert exposure <= MAX_EXPOSURE
    assert exposure <= REACHED_EXPOSURE, "the hardening got weaker than it was"


def service_lines(unit: str) -> list[tuple[str, str]]:
    """(key, value) pairs of the [Service] section, comments dropped, in order."""
    pairs, section = [], ""
    for raw in (UNITS / unit).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]":
            key, _, value = line.partition("=")
            pairs.append((key, value))
    return pairs


def test_single_and_template_units_share_their_hardening() -> None:
    single = [p for p in service_lines("feedbackd.service") if p[0] not in INSTANCE_KEYS]
    template = [p for p in service_lines("feedbackd@.service") if p[0] not in INSTANCE_KEYS]
    assert single == template
    keys = dict(service_lines("feedbackd.service"))
    assert keys["Type"] == "notify" and keys["NotifyAccess"] == "main"
    assert keys["RestartPreventExitStatus"] == "78"  # errors.EX_CONFIG
    assert keys["CapabilityBoundingSet"] == ""


def example_values() -> dict[str, str]:
    pairs = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep and key == key.strip(), f"not KEY=value: {line!r}"
            pairs[key] = value
    return pairs


def test_env_example_documents_every_setting() -> None:
    """Every variable the settings read, and no other (FEEDBACKD_CONFIG_DIR chooses the folder
    the file lives in, so the file cannot set it)."""
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    documented = set(re.findall(r"(?m)^#?(FEEDBACKD_[A-Z0-9_]+)=", text))
    assert documented == set(VARIABLES) - {"FEEDBACKD_CONFIG_DIR"}
    for kind in ("IMAP", "SMTP"):
        assert {
            f"FEEDBACKD_{kind}_{k}"
            for k in ("HOST", "PORT", "USER", "PASSWORD", "PASSWORD_FILE", "TLS", "CA_FILE")
        } <= documented


def test_env_example_loads_with_credentials_as_systemd_passes_them(tmp_path) -> None:
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "imap-password").write_text("imap-secret\n")
    (creds / "smtp-password").write_text("smtp-secret")
    env = example_values() | {"CREDENTIALS_DIRECTORY": str(creds)}
    settings = load_settings(env)
    assert settings.imap.password.reveal() == "imap-secret"
    assert settings.smtp.password.reveal() == "smtp-secret"
    assert (settings.imap.tls, settings.imap.port) == ("imaps", 993)
    assert (settings.smtp.tls, settings.smtp.port) == ("starttls", 587)


def service_key(unit: str, key: str) -> str:
    values = [v for k, v in service_lines(unit) if k == key]
    assert len(values) == 1, f"{unit} must set {key}= exactly once"
    return values[0]


@pytest.mark.parametrize("unit", ["feedbackd.service", "feedbackd@.service"])
def test_reload_needs_no_external_program(unit) -> None:
    """`/bin/kill` is procps, absent on minimal Debian and in containers (203/EXEC): the unit
    reloads with the daemon's own program, which also waits for the outcome."""
    program = service_key(unit, "ExecStart").split()[0]
    reload = service_key(unit, "ExecReload").split()
    assert reload[0] == program, f"ExecReload= must run {program}, not {reload[0]}"
    assert reload[-3:] == ["reload", "--pid", "$MAINPID"]
    assert "kill" not in " ".join(reload)


def test_the_template_runs_as_its_instance() -> None:
    """Without `--instance %i` the daemon of feedbackd@sales would read feedbackd.env beneath
    sales.env, and every value only the main unit's file sets would leak into sales."""
    single = {k: service_key("feedbackd.service", k).split() for k in ("ExecStart", "ExecReload")}
    for key in ("ExecStart", "ExecReload"):
        words = service_key("feedbackd@.service", key).split()
        assert words[1:3] == ["--instance", "%i"], key
        assert [words[0], *words[3:]] == single[key], key


def state_directory(unit: str, instance: str | None = None) -> Path:
    value = service_key(unit, "StateDirectory")
    return Path("/var/lib") / (value.replace("%i", instance) if instance else value)


def nests(a: Path, b: Path) -> bool:
    return a == b or a in b.parents or b in a.parents


@pytest.mark.parametrize("instance", ["sales", "support", "feedbackd"])
def test_state_directories_do_not_nest(instance) -> None:
    """feedbackd.service and feedbackd@NAME.service run side by side on one host: with
    DynamicUser= each state directory belongs to another user, so none may hold another
    (systemd refuses the start with status=238/STATE_DIRECTORY)."""
    single = state_directory("feedbackd.service")
    mine = state_directory("feedbackd@.service", instance)
    other = state_directory("feedbackd@.service", instance + "-2")
    assert not nests(single, mine), (single, mine)
    assert not nests(mine, other), (mine, other)


@pytest.mark.parametrize("unit", ["feedbackd.service", "feedbackd@.service"])
def test_the_default_store_lies_in_the_state_directory(unit) -> None:
    """The only writable place is the state directory: the default store must be in it."""
    env = service_key(unit, "Environment")
    key, _, value = env.partition("=")
    assert key == "FEEDBACKD_DB"
    store = Path(value.replace("%S", "/var/lib").replace("%i", "sales"))
    assert store.parent == state_directory(unit, "sales")
