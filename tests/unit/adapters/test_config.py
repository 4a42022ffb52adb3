"""Reading the admin's files: an unreadable rules file or a missing template folder is one
located ConfigError, the same for the daemon and for `feedbackd check`."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import REPO

from daemon.adapters.config import build_rulebook, load_rulebook, load_templates
from daemon.errors import ConfigError


def test_the_shipped_rules_and_templates_load() -> None:
    book = load_rulebook(REPO / "rules.yaml")
    assert book.source == str(REPO / "rules.yaml")
    templates = load_templates(REPO / "templates")
    assert templates.label == str(REPO / "templates") and "ack_thanks.ru.j2" in templates.sources


def test_an_unreadable_rules_file_is_a_problem_of_that_file(tmp_path: Path) -> None:
    (tmp_path / "latin1.yaml").write_bytes(b"owners: {a: {name: \xe9}}\n")
    for path in (tmp_path / "missing.yaml", tmp_path / "latin1.yaml"):
        built = build_rulebook(path)
        assert built.book is None
        [problem] = built.report.problems
        assert problem.file == str(path) and problem.line is None
        assert problem.message.startswith("cannot read the rules file: ")
        with pytest.raises(ConfigError, match="--rules or FEEDBACKD_RULES"):
            load_rulebook(path)


def test_a_missing_template_folder_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="template folder not found: set FEEDBACKD_TEMPLATES"):
        load_templates(tmp_path / "nope")


def test_only_j2_files_are_templates(tmp_path: Path) -> None:
    (tmp_path / "a.en.j2").write_text("Subject: a\n\nA\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a template", encoding="utf-8")
    assert list(load_templates(tmp_path).sources) == ["a.en.j2"]
