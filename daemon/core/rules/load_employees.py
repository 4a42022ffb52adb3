"""rules.yaml `employees:`: the people customers thank by name, and whom their thanks reach.

    employees:
      - name: Ольга Петрова
        forms: [Ольга, Ольга Петрова, Olga]   # as customers write them; every case form matches
        address: olga@company.example
        team: delivery                        # an owner key
        manager: delivery_head                # an owner key or another employee's address

The forms are turned into word-form keys here, once, by the lemmatizer the book is built with
(daemon.adapters.morphology hands it in): "Ольга" becomes the key "ольга", which "Ольге",
"Ольгу" and "Ольгой" in a letter also become, so nobody lists endings. Without a lemmatizer
the forms are matched as written (lower case), and `feedbackd check` says so.
"""

from __future__ import annotations

from typing import Any

from daemon.core.rules.model import Employee, Owner
from daemon.core.rules.morphology import Lemmatizer
from daemon.core.rules.textmatch import normalize, split_words
from daemon.core.rules.yamlsrc import Map, Report, check_keys, str_list

EMPLOYEE_KEYS = ("name", "forms", "address", "team", "manager")


def form_key(form: str, lemmatizer: Lemmatizer | None) -> tuple[str, ...]:
    """The words of a name form as the letters' words will be compared with them."""
    words = split_words(normalize(form))
    return tuple(lemmatizer.lemma(w) if lemmatizer else w for w in words)


def parse_employees(
    report: Report,
    node: Any,
    line: int,
    owners: dict[str, Owner],
    lemmatizer: Lemmatizer | None,
) -> dict[str, Employee]:
    """The directory by lower-case address; every problem at its line, all at once."""
    if node is None:
        return {}
    if not isinstance(node, list):
        report.add(line, "employees: give a list of people, each with name, address and team")
        return {}
    out: dict[str, Employee] = {}
    managers: list[tuple[str, str, int]] = []
    for item in node:
        if not isinstance(item, Map):
            report.add(line, "employees: each entry needs name:, address: and team:")
            continue
        check_keys(report, item, EMPLOYEE_KEYS, "employee")
        name = item.get("name")
        address = str(item.get("address") or "").strip().lower()
        who = f"employee '{name or address or '?'}'"
        if not isinstance(name, str) or not name.strip():
            report.add(item.line, f"{who} needs 'name:'")
            name = ""
        if "@" not in address:
            report.add(item.line_of("address"), f"{who} needs 'address:' with an address")
        elif address in out:
            report.add(item.line_of("address"), f"{who}: address {address} is listed twice")
        team = str(item.get("team") or "")
        if team not in owners:
            known = ", ".join(sorted(owners)) or "none yet"
            report.add(
                item.line_of("team") if "team" in item else item.line,
                f"{who}: team '{team}' is not an owner key; use one of {known}",
            )
        manager = item.get("manager")
        if manager is not None:
            managers.append((str(manager), who, item.line_of("manager")))
        forms = [
            f for f, _ in str_list(report, item.get("forms", []), item.line_of("forms"), "forms")
        ]
        forms = list(dict.fromkeys([*(f.strip() for f in forms if f.strip()), name.strip()]))
        keys = tuple(dict.fromkeys(k for k in (form_key(f, lemmatizer) for f in forms) if k))
        out.setdefault(
            address,
            Employee(
                address,
                name.strip(),
                team,
                None if manager is None else str(manager),
                tuple(f for f in forms if f),
                keys,
            ),
        )
    for manager, who, where in managers:
        if manager not in owners and manager.lower() not in out:
            report.add(
                where,
                f"{who}: manager '{manager}' is neither an owner key nor an employee's address",
            )
    return out
