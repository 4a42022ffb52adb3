"""`feedbackd check` on the digest's words: a broken file fails at its line; a missing file or
key of the digest's language is a warning (the daemon says those words in English)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from support import REPO

from daemon.cli.check import check_command

DIGEST = "digest:\n  every: weekly\n  to: [center]\n"


def run(rules: Path, templates: Path) -> tuple[int, str]:
    out = io.StringIO()
    code = check_command(str(rules), str(templates), out)
    return code, out.getvalue()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    return tmp_path / "templates"


def rules(tmp_path: Path, digest: str = DIGEST) -> Path:
    path = tmp_path / "rules.yaml"
    text = (REPO / "tests" / "data" / "rules" / "ok.yaml").read_text(encoding="utf-8")
    path.write_text(text + digest, encoding="utf-8")
    return path


def test_the_shipped_words_pass_without_a_warning(tmp_path: Path, folder: Path) -> None:
    code, out = run(rules(tmp_path), folder)
    assert code == 0, out
    assert "digest" not in out.replace(str(tmp_path), "")


def test_an_unknown_key_and_a_bad_placeholder_fail_at_their_lines(
    tmp_path: Path, folder: Path
) -> None:
    path = folder / "digest.en.yaml"  # not even the digest's language: every file is checked
    lines = path.read_text(encoding="utf-8").splitlines()
    at = next(n for n, text in enumerate(lines) if text.startswith("more:"))
    lines[at] = 'more: "and {count} more"'
    lines.insert(at + 1, 'mroe: "x"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out = run(rules(tmp_path), folder)
    assert code == 78
    assert f"{path}:{at + 1}: more: {{count}} is not filled here; use {{n}}" in out
    assert f"{path}:{at + 2}: unknown key 'mroe'; did you mean 'more'?" in out


def test_an_older_folder_without_the_file_passes_with_a_warning_at_the_rules_line(
    tmp_path: Path, folder: Path
) -> None:
    (folder / "digest.ru.yaml").unlink()  # ok.yaml's feedback center speaks Russian
    path = rules(tmp_path)
    code, out = run(path, folder)
    assert code == 0, out
    line = path.read_text(encoding="utf-8").splitlines().index("digest:") + 1
    assert (
        f"{path}:{line}: warning: the digest is in 'ru' (the feedback center owner's language) "
        f"but {folder}/digest.ru.yaml is missing, so it goes out in the built-in English; "
        "copy " in out
    )


def test_a_third_language_needs_only_its_file(tmp_path: Path, folder: Path) -> None:
    path = rules(tmp_path, DIGEST + "  language: de\n")
    code, out = run(path, folder)
    assert code == 0, out
    assert f"{path}:{len(path.read_text().splitlines())}: warning: the digest is in 'de' but" in out
    assert "write it from a translated copy of " in out and "digest.en.yaml" in out
    (folder / "digest.de.yaml").write_text('subject: "Übersicht {period}"\n', encoding="utf-8")
    code, out = run(path, folder)
    assert code == 0, out
    assert f"{folder}/digest.de.yaml: warning: no text for as_of, figure," in out


def test_no_digest_section_no_warning_about_its_language(tmp_path: Path, folder: Path) -> None:
    (folder / "digest.ru.yaml").unlink()
    code, out = run(rules(tmp_path, ""), folder)
    assert code == 0 and "digest" not in out.replace(str(tmp_path), ""), out
