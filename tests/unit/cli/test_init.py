"""`feedbackd init` and config discovery: what an admin with only a wheel starts from.

Through the command line (`daemon.cli.main`): init writes every file, marks the placeholders and
never overwrites; every command finds the configuration folder in one order (--config,
FEEDBACKD_CONFIG_DIR, /etc/feedbackd, the packaged defaults) and reads its feedbackd.env
beneath the real environment. /etc/feedbackd is pointed at a temp folder so that the machine's
own configuration never leaks in.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.adapters import configdir
from daemon.adapters.config import load_rulebook
from daemon.adapters.packaged import defaults_dir, is_placeholder
from daemon.adapters.settings import VARIABLES, load_settings, rules_file, templates_dir
from daemon.cli import main
from daemon.errors import ConfigError

VARIABLE = re.compile(r"(?m)^#?(FEEDBACKD_[A-Z0-9_]+)=")


@pytest.fixture(autouse=True)
def hermetic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No FEEDBACKD_* from the shell, and an /etc/feedbackd that does not exist (yet)."""
    for name in [*os.environ]:
        if name.startswith("FEEDBACKD_") or name == "STATE_DIRECTORY":
            monkeypatch.delenv(name)
    system = tmp_path / "etc-feedbackd"
    monkeypatch.setattr(configdir, "SYSTEM_DIR", system)
    yield system
    configdir.use_config_option(None)  # main() leaves this run's --config behind


def init(folder: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["init", str(folder)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_init_writes_rules_templates_and_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "new" / "feedbackd"  # missing parents are created
    code, out, _ = init(folder, capsys)
    assert code == 0
    shipped = defaults_dir()
    templates = [
        *(shipped / "templates").glob("*.j2"),
        *(shipped / "templates").glob("digest.*.yaml"),  # the digest's words
    ]
    assert {"digest.ru.yaml", "digest.en.yaml"} <= {p.name for p in templates}
    assert sorted(p.name for p in (folder / "templates").iterdir()) == sorted(
        p.name for p in templates
    )
    for template in templates:
        assert (folder / "templates" / template.name).read_bytes() == template.read_bytes()
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}
    assert modes == {"rules.yaml": 0o644, "templates": 0o755, "feedbackd.env": 0o600}
    assert "feedbackd --config" in out and "PLACEHOLDER" in out


def test_the_written_rules_load_and_mark_every_placeholder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    init(tmp_path, capsys)
    written = load_rulebook(tmp_path / "rules.yaml")
    shipped = load_rulebook(defaults_dir() / "rules.yaml")
    assert written.owners == shipped.owners and written.categories == shipped.categories
    marked = 0
    for line in (tmp_path / "rules.yaml").read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#"):
            continue
        if any(is_placeholder(a) for a in re.findall(r"[\w.+-]+@[\w.-]+", line)):
            assert "# PLACEHOLDER" in line, line
            marked += 1
    assert marked == 1 + len(shipped.owners)  # own_addresses and every owner's email


def test_the_written_env_file_names_every_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    init(tmp_path, capsys)
    example = (defaults_dir() / "systemd" / "feedbackd.env.example").read_text(encoding="utf-8")
    written = (tmp_path / "feedbackd.env").read_text(encoding="utf-8")
    assert set(VARIABLE.findall(written)) == set(VARIABLE.findall(example))
    # every one the settings read but FEEDBACKD_CONFIG_DIR (the file cannot move its folder)
    assert len(set(VARIABLE.findall(written))) == len(VARIABLES) - 1
    # Nothing in it points away from the folder it lives in.
    assert not re.search(r"(?m)^FEEDBACKD_(RULES|TEMPLATES|DB)=", written)


@pytest.mark.parametrize("existing", ["rules.yaml", "feedbackd.env", "templates"])
def test_init_refuses_to_overwrite_and_writes_nothing(
    existing: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    there = tmp_path / existing
    if existing == "templates":
        there.mkdir()
    else:
        there.write_text("mine\n", encoding="utf-8")
    code, _, err = init(tmp_path, capsys)
    assert code == 73
    assert str(there) in err and "nothing was written" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == [existing]
    if existing != "templates":
        assert there.read_text(encoding="utf-8") == "mine\n"


def test_check_warns_about_placeholder_owners_and_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    init(tmp_path, capsys)
    assert main(["--config", str(tmp_path), "check"]) == 0
    out = capsys.readouterr().out
    warned = [line for line in out.splitlines() if ": warning: owner " in line]
    assert len(warned) == 4
    assert re.match(rf"{re.escape(str(tmp_path / 'rules.yaml'))}:\d+: warning: owner center ", out)
    rules = tmp_path / "rules.yaml"
    rules.write_text(rules.read_text(encoding="utf-8").replace("example.test", "acme.ru"))
    assert main(["--config", str(tmp_path), "check"]) == 0
    assert "warning: owner" not in capsys.readouterr().out


def test_check_of_the_packaged_defaults_says_so_instead_of_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert str(defaults_dir() / "rules.yaml") in out
    assert "packaged defaults" in out and "feedbackd init" in out and "warning" not in out


def test_discovery_order(hermetic: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert rules_file() == str(defaults_dir() / "rules.yaml")
    hermetic.mkdir()
    assert rules_file() == str(hermetic / "rules.yaml")
    assert templates_dir() == str(hermetic / "templates")
    variable, option = tmp_path / "variable", tmp_path / "option"
    variable.mkdir()
    option.mkdir()
    monkeypatch.setenv("FEEDBACKD_CONFIG_DIR", str(variable))
    assert rules_file() == str(variable / "rules.yaml")
    configdir.use_config_option(str(option))
    assert rules_file() == str(option / "rules.yaml")
    assert templates_dir() == str(option / "templates")
    assert rules_file("mine.yaml") == "mine.yaml"


def test_commands_read_the_env_file_beneath_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "feedbackd.env").write_text(
        "# comment\n; also a comment\n"
        "FEEDBACKD_DB=/srv/fb/store.json\n"
        'FEEDBACKD_RULES="/srv/fb/my rules.yaml"\n'
        "FEEDBACKD_LOG_LEVEL=debug\n"
        "FEEDBACKD_CONFIG_DIR=/elsewhere\n",  # cannot move the folder it is read from
        encoding="utf-8",
    )
    monkeypatch.setenv("FEEDBACKD_LOG_LEVEL", "warning")  # the real environment wins
    configdir.use_config_option(str(tmp_path))
    settings = load_settings(need_servers=False)
    assert settings.db == Path("/srv/fb/store.json")
    assert settings.rules == Path("/srv/fb/my rules.yaml")
    assert settings.templates == tmp_path / "templates"
    assert settings.log_level == "WARNING"
    assert main(["--config", str(tmp_path), "status"]) == 2
    assert "no store at /srv/fb/store.json" in capsys.readouterr().out


def test_the_store_is_where_systemd_keeps_it(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings(need_servers=False).db == Path("/var/lib/feedbackd/store.json")
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/feedbackd/sales:/var/lib/other")
    assert load_settings(need_servers=False).db == Path("/var/lib/feedbackd/sales/store.json")
    monkeypatch.setenv("FEEDBACKD_DB", "/tmp/x.json")
    assert load_settings(need_servers=False).db == Path("/tmp/x.json")


def test_a_bad_env_file_line_is_located(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "feedbackd.env").write_text("FEEDBACKD_DB=/x\nexport FEEDBACKD_A=1\n")
    assert main(["--config", str(tmp_path), "status"]) == 78
    err = capsys.readouterr().err
    assert f"{tmp_path / 'feedbackd.env'}:2: not a setting: write NAME=value" in err


def test_a_missing_configuration_folder_says_how_to_make_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere"
    assert main(["--config", str(missing), "check"]) == 78
    err = capsys.readouterr().err
    assert f"{missing} (from --config) does not exist" in err
    assert f"feedbackd init {missing}" in err


def test_an_unreadable_env_file_is_named_when_a_setting_is_missing(tmp_path: Path) -> None:
    (tmp_path / "feedbackd.env").mkdir()  # unreadable as a file, even for root
    configdir.use_config_option(str(tmp_path))
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "FEEDBACKD_IMAP_HOST is not set" in str(err.value)
    assert f"{tmp_path / 'feedbackd.env'}: was not read" in str(err.value)


def test_an_instance_of_the_template_unit_is_found_by_its_name(
    hermetic: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--instance sales` is what feedbackd@sales uses: sales.env (never feedbackd.env, whose
    values would leak into the instance), its store in /var/lib/feedbackd-sales, and the
    passwords the unit's LoadCredential= reads, so a command needs nothing sourced."""
    hermetic.mkdir()
    servers = "FEEDBACKD_IMAP_HOST=imap.example.test\nFEEDBACKD_SMTP_HOST=smtp.example.test\n"
    (hermetic / "feedbackd.env").write_text(
        f"FEEDBACKD_ADDRESS=main@example.test\n{servers}FEEDBACKD_IMAP_USER=main\n"
        "FEEDBACKD_SMTP_USER=main-sender\nFEEDBACKD_LOG_LEVEL=DEBUG\n"
    )
    (hermetic / "sales.env").write_text(
        f"FEEDBACKD_ADDRESS=sales@example.test\n{servers}FEEDBACKD_IMAP_USER=sales\n"
        "FEEDBACKD_SMTP_USER=sales\n"
    )
    (hermetic / "sales.imap-password").write_text("imap-secret\n")
    (hermetic / "sales.smtp-password").write_text("smtp-secret\n")
    (hermetic / "imap-password").write_text("the main unit's\n")
    (hermetic / "smtp-password").write_text("the main unit's too\n")
    configdir.use_config_option(None, "sales")
    settings = load_settings()
    assert settings.address == "sales@example.test"
    assert settings.log_level == "INFO"  # nothing of the main unit's file
    assert settings.db == Path("/var/lib/feedbackd-sales/store.json")
    assert settings.imap.password.reveal() == "imap-secret"
    assert settings.smtp.password.reveal() == "smtp-secret"
    configdir.use_config_option(None)
    assert load_settings().imap.password.reveal() == "the main unit's"
    assert load_settings().address == "main@example.test"


def test_an_instance_name_that_cannot_be_a_unit_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--instance", "../etc", "status"]) == 78
    assert "is not an instance name" in capsys.readouterr().err
