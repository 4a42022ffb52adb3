"""Which rules file and templates folder a command reads: decided in one place, the settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import REPO

from daemon.adapters.settings import load_settings, rules_file, templates_dir
from daemon.cli import main


def test_an_option_wins_over_the_environment_which_wins_over_the_shipped_files() -> None:
    env = {"FEEDBACKD_RULES": "/etc/feedbackd/rules.yaml", "FEEDBACKD_TEMPLATES": "/etc/t"}
    assert rules_file("./mine.yaml", env) == "./mine.yaml"  # as written, not normalised
    assert rules_file(None, env) == "/etc/feedbackd/rules.yaml"
    assert rules_file(None, {}) == str(REPO / "rules.yaml")
    assert templates_dir("t/", env) == "t/"
    assert templates_dir(None, env) == "/etc/t"
    assert templates_dir(None, {"FEEDBACKD_TEMPLATES": ""}) == str(REPO / "templates")


def test_the_daemon_reads_the_same_files_as_the_commands() -> None:
    for env in ({}, {"FEEDBACKD_RULES": "/r.yaml", "FEEDBACKD_TEMPLATES": "/t"}):
        settings = load_settings(env, need_servers=False)
        assert settings.rules == Path(rules_file(env=env))
        assert settings.templates == Path(templates_dir(env=env))


@pytest.mark.parametrize("command", [["check"], ["classify", "x.eml"]])
def test_commands_without_rules_read_feedbackd_rules(
    command: list[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    missing = tmp_path / "nowhere.yaml"
    monkeypatch.setenv("FEEDBACKD_RULES", str(missing))
    assert main(command) == 78
    captured = capsys.readouterr()
    assert str(missing) in captured.out + captured.err
