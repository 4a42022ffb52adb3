"""Issue #18 item 3 on the lab: a thank-you naming «Ольге из отдела доставки» credits that
employee; the employee and their manager each get the thanks once; `report --by employee`
counts it (JSON and the HR CSV) — through Dovecot, SMTP and the CLI.

The commands run in this process (`Desk.cli`): these tests are about what the commands and
cycles do, not about the process.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from zoneinfo import ZoneInfo

from support import Desk

MSK = ZoneInfo("Europe/Moscow")


def test_a_thank_you_naming_an_employee_reaches_her_and_her_manager_and_counts_for_her(
    desk: Desk,
) -> None:
    domain = f"staff{desk.customer_n}.test"
    rules = desk.rules.read_text().replace("@example.test", f"@{domain}")
    olga, boss = f"olga@{domain}", f"support-lead@{domain}"
    desk.rules.write_text(
        rules
        + f"""
employees:
  - name: Ольга Петрова
    forms: [Ольга, Olga]
    address: {olga}
    team: team
    manager: support
  - name: Иван Соколов
    address: ivan@{domain}
    team: support
"""
    )
    anna = desk.customer("anna")
    desk.send(anna, "Спасибо!", "Огромное спасибо Ольге из отдела доставки, всё привезли вовремя.")
    run = desk.cli("once")
    assert run.returncode == 0, run.stderr
    [case] = map(json.loads, desk.cli("cases", "list", "--format", "json").stdout.split("\n")[:1])
    shown = json.loads(desk.cli("cases", "show", case["id"], "--format", "json").stdout)
    credited = [e["data"] for e in shown["events"] if e["what"] == "credited"]
    assert credited == [{"employee": olga, "team": "team", "name": "Ольга Петрова"}]

    [to_olga] = desk.messages(olga)  # one mail each, once
    [to_boss] = [m for m in desk.messages(boss) if case["id"] in m.subject]
    for mail in (to_olga, to_boss):
        assert "Ольге из отдела доставки" in mail.text and anna not in mail.text
    assert "Ольга Петрова" in to_boss.text  # the manager is told whom it is for
    assert desk.messages(f"ivan@{domain}") == []
    again = desk.cli("once")  # a second cycle sends nothing again
    assert again.returncode == 0 and len(desk.messages(olga)) == 1

    day = datetime.now(MSK).date().isoformat()
    period = ("--from", "2020-01-01", "--to", day, "--by", "employee")
    out = desk.cli("report", *period, "--format", "json")
    assert out.returncode == 0, out.stderr
    figures = json.loads(out.stdout)
    assert next(iter(figures["by"])) == "employee"
    assert figures["by"]["employee"][olga]["thanks"] == 1
    assert figures["by"]["team"]["team"]["thanks"] == 1
    sheet = desk.cli("report", *period, "--format", "csv")
    [row] = [r for r in csv.DictReader(io.StringIO(sheet.stdout)) if r["key"] == olga]
    assert (row["name"], row["team"], row["thanks"]) == ("Ольга Петрова", "team", "1")
