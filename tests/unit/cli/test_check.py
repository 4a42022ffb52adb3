"""`feedbackd check` on broken files: every mistake at its exact line, with what to change.

Each file in tests/data/rules/ marks the lines that must be reported with a trailing
`# expect: <text of the message>` comment; the test reads those markers.
"""

import io
import os
import re
import shutil
from pathlib import Path

import pytest
from support import REPO

from daemon.adapters.config import load_rulebook
from daemon.cli import main
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


def test_a_broken_digest_section_fails_check_at_its_lines(tmp_path):
    """The digest is parsed at load time: `every: monthly` used to pass `check` (exit 0) and
    fail only on the day the digest was due."""
    path = tmp_path / "rules.yaml"
    path.write_text(
        (DATA / "ok.yaml").read_text(encoding="utf-8")
        + "digest:\n  every: monthly\n  at: 8am\n  to: [center, nobody]\n  colour: red\n",
        encoding="utf-8",
    )
    code, out = run_check(path)
    assert code == 78, out
    for line, text in (
        (16, "digest.every: 'monthly' is not daily or weekly"),
        (17, "digest.at: '8am' is not a time like \"08:00\""),
        (18, "digest.to: 'nobody' is neither an owner key in `owners:` nor an address"),
        (19, "digest.colour: unknown key; use every, at, to"),
    ):
        assert f"{path}:{line}: {text}" in out, out
    with pytest.raises(ConfigError):
        load_rulebook(path)


def test_templates_are_checked_in_the_environment_the_daemon_renders_in(templates):
    """The daemon reads only the folder's *.j2 files; an include of any other file renders in a
    FileSystemLoader environment (the old check passed it) and fails in the daemon's."""
    (templates / "signature.txt").write_text("-- \nFeedback Center\n", encoding="utf-8")
    (templates / "ack_thanks.en.j2").write_text(
        "Subject: Thank you\n\nThanks!\n{% include 'signature.txt' %}\n", encoding="utf-8"
    )
    code, out = run_check(DATA / "ok.yaml", templates)
    assert code == 78, out
    assert f"{templates / 'ack_thanks.en.j2'}:4: template includes 'signature.txt'" in out, out


def test_every_variable_the_daemon_gives_an_acknowledgment_passes_check(templates):
    """`check` renders with the daemon's own context builder: a template using a variable the
    daemon does pass (its category label, its status) must not be refused."""
    (templates / "ack_official.en.j2").write_text(
        '{% extends "_ack.en.j2" %}\n{% block subject %}Registered{% endblock %}\n'
        "{% block body %}Your {{ category_label }} is {{ status }}.{% endblock %}\n",
        encoding="utf-8",
    )
    code, out = run_check(DATA / "ok.yaml", templates)
    assert code == 0, out


def test_the_corrected_acknowledgment_is_rendered_when_the_folder_has_it(templates):
    (templates / "ack_corrected.en.j2").write_text(
        '{% extends "_ack.en.j2" %}\n{% block subject %}Correction{% endblock %}\n'
        "{% block body %}Now with {{ owner_nam }}{% endblock %}\n",
        encoding="utf-8",
    )
    code, out = run_check(DATA / "ok.yaml", templates)
    assert code == 78
    assert re.search(r"ack_corrected\.en\.j2:3: template cannot render: 'owner_nam'", out), out
    for lang in ("ru", "en"):  # an older folder without it: the built-in text, no problem
        (templates / f"ack_corrected.{lang}.j2").unlink()
    assert run_check(DATA / "ok.yaml", templates)[0] == 0


SETTINGS = {
    "FEEDBACKD_IMAP_HOST": "imap.example.com",
    "FEEDBACKD_IMAP_USER": "fb",
    "FEEDBACKD_IMAP_PASSWORD": "imap-pw-123",
    "FEEDBACKD_SMTP_HOST": "smtp.example.com",
    "FEEDBACKD_SMTP_USER": "fb",
    "FEEDBACKD_SMTP_PASSWORD": "smtp-pw-456",
    "FEEDBACKD_ADDRESS": "feedback@example.com",
    "FEEDBACKD_RULES": str(REPO / "rules.yaml"),
    "FEEDBACKD_TEMPLATES": str(TEMPLATES),
}


def check_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], **env: str
) -> tuple[int, str]:
    for name in [n for n in os.environ if n.startswith("FEEDBACKD_")]:
        monkeypatch.delenv(name)
    for name, value in {**SETTINGS, **env}.items():
        monkeypatch.setenv(name, value)
    code = main(["check"])
    return code, capsys.readouterr().out


@pytest.mark.parametrize(
    "variable, value", [("FEEDBACKD_IMAP_TLS", "ssl"), ("FEEDBACKD_IMAP_PORT", "abc")]
)
def test_check_refuses_a_bad_setting_naming_it_and_what_to_set(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], variable: str, value: str
) -> None:
    code, out = check_cli(monkeypatch, capsys, **{variable: value})
    assert code == 78
    [line] = [ln for ln in out.splitlines() if ln.startswith("settings: ")]
    assert f"{variable}={value!r} is not valid: set " in line
    assert "imap-pw-123" not in out


def test_check_passes_good_settings_and_warns_of_a_typo(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = check_cli(monkeypatch, capsys, FEEDBACKD_IMAP_PROT="143")
    assert code == 0, out
    assert (
        "settings: warning: unknown variable FEEDBACKD_IMAP_PROT: did you mean "
        "FEEDBACKD_IMAP_PORT?" in out.splitlines()
    )
    assert "settings: OK — IMAP fb at imap.example.com:993 (imaps)" in out
