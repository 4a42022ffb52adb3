"""`feedbackd cases …`: list with filters, show the audit trail, change a case — with or
without a daemon holding the store.

The commands run in this process (`Desk.cli`), except the one that must reach a running daemon
from another process: these tests are about what the commands do, not about start-up."""

from __future__ import annotations

import json
import signal
import time

from support import Desk


def make_case(desk: Desk, name: str) -> str:
    desk.send(desk.customer(name), "Жалоба", "Курьер опоздал на три часа, прошу разобраться.")
    assert desk.cli("once").returncode == 0
    out = desk.cli("cases", "list", "--format", "json")
    return json.loads(out.stdout.splitlines()[-1])["id"]


def trail(desk: Desk, case_id: str) -> list[str]:
    out = desk.cli("cases", "show", case_id, "--format", "json")
    return [e["what"] for e in json.loads(out.stdout)["events"]]


def test_change_without_a_daemon(desk: Desk) -> None:
    cid = make_case(desk, "cli1")
    assert desk.cli("cases", "note", cid, "called the customer", "--by", "olga").returncode == 0
    bad = desk.cli("cases", "reassign", cid, "nobody")
    assert bad.returncode == 1 and "unknown owner" in bad.stderr
    assert desk.cli("cases", "reassign", cid, "legal").returncode == 0
    assert desk.cli("cases", "close", cid).returncode == 0
    again = desk.cli("cases", "close", cid)
    assert again.returncode == 1 and "closed" in again.stderr
    case = json.loads(desk.cli("cases", "show", cid, "--format", "json").stdout)
    assert case["status"] == "closed" and case["owner"] == "legal"
    assert trail(desk, cid)[-3:] == ["note", "reassigned", "closed"]
    note = next(e for e in case["events"] if e["what"] == "note")
    assert note["who"] == "cli:olga" and note["data"]["text"] == "called the customer"
    listed = desk.cli("cases", "list", "--status", "closed", "--format", "json")
    assert [json.loads(x)["id"] for x in listed.stdout.splitlines()] == [cid]
    assert desk.cli("cases", "list", "--status", "open", "--format", "json").stdout == ""


def test_change_beside_a_running_daemon_goes_through_the_daemon(desk: Desk) -> None:
    cid = make_case(desk, "cli2")
    proc = desk.start()
    try:
        desk.wait_holding(proc)
        started = time.monotonic()
        out = desk.feedbackd("cases", "close", cid)
        assert out.returncode == 0, out.stderr
        assert time.monotonic() - started < 10
        assert trail(desk, cid)[-1] == "closed"  # already durable in the daemon's store
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert trail(desk, cid)[-1] == "closed"
