"""The doctor's findings without a server: folder plans in every layout, and the one line each
unreachable server gets, naming what to change."""

from __future__ import annotations

from daemon.core.doctor import (
    Diagnosis,
    Level,
    Reach,
    from_refused,
    moves,
    plan_folders,
    unreachable,
)
from daemon.core.folders import Layout, Role

FOLDERS = ["Feedback/Thanks", "Quarantine", "Sent", "INBOX"]


def test_folders_are_planned_in_the_servers_names() -> None:
    dots = Layout("INBOX.", ".", {Role.SENT: "INBOX.Sent Items"})
    plans = {p.folder: p for p in plan_folders(FOLDERS, dots, {"INBOX.Sent Items"})}
    assert plans["Feedback/Thanks"].server_name == "INBOX.Feedback.Thanks"
    assert not plans["Feedback/Thanks"].exists
    assert (plans["Sent"].server_name, plans["Sent"].exists) == ("INBOX.Sent Items", True)
    assert plans["INBOX"].exists


def test_a_folder_the_layout_cannot_spell_is_a_problem_with_what_to_do() -> None:
    [plan] = plan_folders(["Feedback/v1.2"], Layout("INBOX.", "."), set())
    assert plan.problem.startswith("cannot use folder 'Feedback/v1.2'")
    assert "change the folder's name in rules.yaml" in plan.problem


def test_each_way_of_not_reaching_a_server_names_the_setting_to_check() -> None:
    lines = {
        reach: unreachable("SMTP", "smtp.example.com", 587, reach, "detail", 10.0)
        for reach in Reach
    }
    assert lines[Reach.NO_NAME].endswith("check FEEDBACKD_SMTP_HOST for a typo")
    assert "refused the connection" in lines[Reach.REFUSED]
    assert "FEEDBACKD_SMTP_PORT" in lines[Reach.REFUSED]
    assert "did not answer within 10 s" in lines[Reach.TIMEOUT]
    assert all("\n" not in line for line in lines.values())


def test_a_refused_from_says_how_to_let_the_login_send_as_the_address() -> None:
    line = from_refused("fb@example.com", "MAIL FROM", "553 5.7.1 not owned by user")
    assert "send as FEEDBACKD_ADDRESS" in line
    assert "FEEDBACKD_ADDRESS" in from_refused("fb@example.com", "RCPT TO", "550 no such user")


def test_filing_follows_the_capabilities() -> None:
    assert moves(frozenset({"MOVE"}))[0] is Level.OK
    assert "UIDPLUS" in moves(frozenset({"UIDPLUS"}))[1]
    assert "$Filed" in moves(frozenset())[1]


def test_exit_78_only_with_a_problem() -> None:
    found = Diagnosis()
    found.add("IMAP", Level.NOTE, "capabilities: IMAP4REV1")
    assert found.exit_code == 0 and found.verdict().startswith("all well")
    found.add("IMAP", Level.PROBLEM, "login refused")
    assert found.exit_code == 78
    assert str(found.problems[0]) == "IMAP     PROBLEM login refused"
