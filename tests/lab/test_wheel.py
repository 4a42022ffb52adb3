"""Installed as users install it: the wheel alone in a fresh venv, no source tree in sight.

Once per session the wheel is built from the checkout (`pip wheel --no-deps`) and installed
into a venv outside the repository; its dependencies come from the package index this machine
is configured with. Then, from a folder outside the repository and with no FEEDBACKD_* in the
environment, an admin's first hour: `init`, `check`, and one `once` on the mail lab whose
settings are written into the folder's feedbackd.env, as the admin would.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from support import REPO, Desk

Feedbackd = Callable[..., subprocess.CompletedProcess[str]]

#: The defaults an installed feedbackd needs, as they lie in the repository.
DEFAULTS = sorted(
    [
        "rules.yaml",
        *(f"templates/{p.name}" for p in (REPO / "templates").glob("*.j2")),
        *(f"templates/{p.name}" for p in (REPO / "templates").glob("digest.*.yaml")),
        *(f"systemd/{p.name}" for p in (REPO / "systemd").iterdir()),
        *(f"docs/{p.name}" for p in (REPO / "docs").glob("*.md")),
    ]
)
MODULES = sorted(str(p.relative_to(REPO)) for p in (REPO / "daemon").rglob("*.py"))


def run(*cmd: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, timeout=300, check=False, cwd=cwd
    )
    assert done.returncode == 0, f"{cmd}: {done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", REPO, "-w", out)
    (built,) = out.glob("feedbackd-*.whl")
    return built


@pytest.fixture(scope="session")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv holding the wheel and its dependencies only (not the test tools)."""
    root = tmp_path_factory.mktemp("venv")
    run(sys.executable, "-m", "venv", "--without-pip", root)
    run(sys.executable, "-m", "pip", "--python", root / "bin" / "python", "install", "-q", wheel)
    return root


@pytest.fixture
def admin(venv: Path, tmp_path: Path) -> Feedbackd:
    """Run the installed `feedbackd` as an admin would: elsewhere, with a bare environment."""
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}

    def feedbackd(*args: str | Path, code: int = 0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [venv / "bin" / "feedbackd", *map(str, args)],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=home,
            check=False,
        )
        assert done.returncode == code, done.stdout + done.stderr
        return done

    return feedbackd


def test_the_wheel_carries_every_module_and_the_defaults(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert [m for m in MODULES if m not in names] == []  # pyproject lists every package
    shipped = sorted(n.removeprefix("daemon/defaults/") for n in names if "/defaults/" in n)
    assert [d for d in DEFAULTS if d not in shipped] == []


def test_the_sdist_carries_the_defaults_where_the_wheel_is_built_from_them(
    tmp_path: Path,
) -> None:
    run(sys.executable, "-m", "build", "--sdist", "--outdir", tmp_path, REPO)
    (sdist,) = tmp_path.glob("feedbackd-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {n.partition("/")[2] for n in tar.getnames()}
    assert [f for f in [*DEFAULTS, *MODULES, "MANIFEST.in"] if f not in names] == []


def test_the_installed_copy_runs_on_its_packaged_defaults(
    venv: Path, admin: Feedbackd, tmp_path: Path
) -> None:
    where = run(
        venv / "bin" / "python", "-c", "import daemon; print(daemon.__file__)", cwd=tmp_path
    )
    assert Path(where.stdout.strip()).is_relative_to(venv)
    out = admin("check").stdout
    assert f"{venv}/lib/" in out and "/daemon/defaults/rules.yaml: OK" in out
    assert str(REPO) not in out


def test_init_check_and_one_cycle_with_only_that_configuration(
    admin: Feedbackd, desk: Desk, tmp_path: Path
) -> None:
    config = tmp_path / "etc-feedbackd"
    assert "wrote" in admin("init", config).stdout
    assert admin("init", config, code=73).stderr.count("already exist") == 1

    checked = admin("--config", config, "check").stdout
    assert f"{config / 'rules.yaml'}: OK" in checked
    assert checked.count("placeholder address") == 4
    assert "digest" not in checked.replace(str(tmp_path), "")  # its words were copied too
    for words in ("digest.ru.yaml", "digest.en.yaml"):
        assert (config / "templates" / words).read_bytes() == (
            REPO / "templates" / words
        ).read_bytes()

    # The admin fills in feedbackd.env (a later line wins, as under systemd's EnvironmentFile=).
    settings = desk.lab.env(desk.address, tmp_path / "store.json")
    with (config / "feedbackd.env").open("a", encoding="utf-8") as env_file:
        env_file.writelines(f"{k}={v}\n" for k, v in settings.items())
    customer = desk.customer("wheel")
    mid = desk.send(customer, "Broken parcel", "My order arrived broken. I want a refund.")

    admin("--config", config, "once")
    cases = [
        json.loads(line)
        for line in admin(
            "--config", config, "cases", "list", "--format", "json"
        ).stdout.splitlines()
    ]
    assert [(c["sender"], c["message_id"]) for c in cases] == [(customer, mid)]
    (ack,) = desk.messages(customer)
    assert cases[0]["id"] in ack.subject and ack.headers["in-reply-to"] == (mid,)
