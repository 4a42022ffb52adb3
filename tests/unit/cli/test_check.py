"""`feedbackd check` on broken files: every mistake at its exact line, with what to change.

Each file in tests/data/rules/ marks the lines that must be reported with a trailing
`# expect: <text of the message>` comment; the test reads those markers.
"""

import io
import re
import shutil
from pathlib import Path

import pytest
from support import REPO

from daemon.adapters.config import load_rulebook
from daemon.cli.check import check_command
from daemon.errors import ConfigError

DATA = REPO / "tests" / "data" / "rules"
TEMPLATES = REPO / "templates"
BROKEN = sorted(p.name for p in DATA.glob("*.yaml") if p.name != "ok.yaml")


def run_check(rules: Path, templates: Path = TEMPLATES) -> tuple[int, str]:
    out = io.StringIO()
    code = check_command(str(rules), str(templates), out)
    return code, out.getvalue()


def markers(path: Path) -> list[tuple[int, str]]:
    found = []
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        m = re.search(r"# expect: (.+)$", line)
        if m:
            found.append((no, m.group(1).strip()))
    return found


def test_shipped_rules_and_templates_pass():
    code, out = run_check(REPO / "rules.yaml")
    assert code == 0, out
    assert "OK" in out


def test_minimal_file_passes():
    assert run_check(DATA / "ok.yaml")[0] == 0


@pytest.mark.parametrize("name", BROKEN)
def test_each_mistake_is_reported_at_its_line(name):
    path = DATA / name
    code, out = run_check(path)
    assert code == 78
    expected = markers(path)
    assert expected, f"{name} has no '# expect:' markers"
    for line, text in expected:
        located = [ln for ln in out.splitlines() if ln.startswith(f"{path}:{line}: ")]
        assert any(text in ln for ln in located), f"line {line}: {text!r} not in\n{out}"


def test_all_problems_at_once_and_load_refuses_half():
    path = DATA / "cross_checks.yaml"
    with pytest.raises(ConfigError) as err:
        load_rulebook(path)
    assert len(err.value.problems) >= len(markers(path))


def test_missing_rules_file():
    code, out = run_check(DATA / "nope.yaml")
    assert code == 78 and "cannot read the rules file" in out


@pytest.fixture
def templates(tmp_path):
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    return folder


def test_missing_template_points_at_rules_line(templates):
    (templates / "ack_thanks.en.j2").unlink()
    code, out = run_check(DATA / "ok.yaml", templates)
    assert code == 78
    assert f"{DATA / 'ok.yaml'}:8: template 'ack_thanks' needs" in out


def test_template_syntax_error_has_file_and_line(templates):
    (templates / "ack_complaint.ru.j2").write_text(
        '{% extends "_ack.ru.j2" %}\n{% block subject %}Жалоба{% endblock %}\n'
        "{% block body %}{% if owner_name %}текст{% endblock %}\n",
        encoding="utf-8",
    )
    code, out = run_check(DATA / "ok.yaml", templates)
    assert code == 78
    assert re.search(r"ack_complaint\.ru\.j2:3: template syntax error", out), out


def test_undefined_variable_is_caught_with_line(templates):
    (templates / "ack_official.en.j2").write_text(
        '{% extends "_ack.en.j2" %}\n{% block subject %}Registered{% endblock %}\n'
        "{% block body %}Dear {{ customer_nam }}{% endblock %}\n",
        encoding="utf-8",
    )
    code, out = run_check(DATA / "ok.yaml", templates)
    assert code == 78
    assert re.search(
        r"ack_official\.en\.j2:3: template cannot render: 'customer_nam' is "
        r"undefined",
        out,
    ), out
