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


def test_the_digest_words_load_with_the_templates(tmp_path: Path) -> None:
    shipped = load_templates(REPO / "templates")
    assert set(shipped.digest) >= {"ru", "en"}
    assert shipped.digest["ru"]["subject"].startswith("Сводка")
    assert shipped.digest["en"]["subject"].startswith("Feedback digest")
    (tmp_path / "a.en.j2").write_text("Subject: a\n\nA\n", encoding="utf-8")
    (tmp_path / "digest.de.yaml").write_text('subject: "Übersicht {period}"\n', encoding="utf-8")
    assert load_templates(tmp_path).digest["de"]["subject"] == "Übersicht {period}"


def test_a_broken_digest_words_file_is_refused_at_load_with_its_line(tmp_path: Path) -> None:
    """Like a broken template: the daemon keeps its last good files instead of failing on the
    day the digest is due."""
    (tmp_path / "digest.ru.yaml").write_text('subject: "x"\nfooter: "{begin}"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_templates(tmp_path)
    [problem] = caught.value.problems
    assert (problem.file, problem.line) == (f"{tmp_path}/digest.ru.yaml", 2)
