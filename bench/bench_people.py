"""Thanks credited to people and the meeting digest, on a large store's numbers.

Prints (1) how fast `credit()` reads thank-you letters against a directory of 500 employees
(first pass: every word looked up in the dictionary; second: the lemmatizer's cache warm),
beside the baseline of classifying the same letters with the shipped rules, measured in the
same run; (2) the digest's size for a week of 100 and of 20,000 cases, which its capped
lists keep flat. Run: .venv/bin/python bench/bench_people.py
"""

from __future__ import annotations

import random
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from daemon.adapters.config import load_templates  # noqa: E402
from daemon.adapters.morphology import default_lemmatizer  # noqa: E402
from daemon.core.cases import apply, open_case  # noqa: E402
from daemon.core.credits import credit  # noqa: E402
from daemon.core.mail.message import parse  # noqa: E402
from daemon.core.report.digest import compose_digest, employee_teams  # noqa: E402
from daemon.core.report.figures import build_report  # noqa: E402
from daemon.core.rules import build, classify  # noqa: E402

FIRST = ["Ольга", "Иван", "Мария", "Сергей", "Анна", "Дмитрий", "Елена", "Алексей", "Наталья"]
LAST = ["Петров", "Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Козлов", "Новиков"]
CASES_RU = ["Ольге", "Ивану", "Марии", "Сергею", "Анне", "Дмитрию", "Елене", "Алексею", "Наталье"]
MSK = ZoneInfo("Europe/Moscow")
#: The shipped digest words, as the daemon loads them with the templates.
WORDS = load_templates(REPO / "templates").digest


def directory(n: int) -> str:
    lines = ["employees:"]
    for i in range(n):
        first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)]
        lines += [
            f"  - name: {first} {last}{'а' if first[-1] == 'а' else ''} {i}",
            f"    forms: [{first} {last}{'а' if first[-1] == 'а' else ''}]",
            f"    address: e{i}@example.test",
            "    team: team",
        ]
    return "\n".join(lines) + "\n"


def letters(n: int) -> list[str]:
    rnd = random.Random(7)
    words = [
        "быстро",
        "вежливо",
        "привезли",
        "вовремя",
        "помогли",
        "разобраться",
        "заказ",
        "курьер",
        "доставка",
    ]
    return [
        f"Огромное спасибо {rnd.choice(CASES_RU)} из отдела доставки! "
        + " ".join(rnd.choice(words) for _ in range(40))
        for _ in range(n)
    ]


def main() -> None:
    text = (REPO / "rules.yaml").read_text(encoding="utf-8") + directory(500)
    t0 = time.perf_counter()
    book = build(text, "rules.yaml", default_lemmatizer()).require()
    print(f"rules with 500 employees built in {time.perf_counter() - t0:.2f} s")
    mails = letters(2000)
    msgs = [parse(f"From: a@b.test\nSubject: Спасибо\n\n{m}\n".encode()) for m in mails]
    t0 = time.perf_counter()
    for m in msgs:
        classify(m, book)
    base = time.perf_counter() - t0
    print(f"baseline  classify 2000 letters: {2000 / base:8.0f} letters/s")
    for label in ("credit, cold cache", "credit, warm cache"):
        t0 = time.perf_counter()
        for m in mails:
            credit(m, book)
        took = time.perf_counter() - t0
        print(f"{label:18}         : {2000 / took:8.0f} letters/s")
    mon = datetime(2026, 11, 16, 10, tzinfo=MSK)
    for n in (100, 20_000):
        cases = []
        for i in range(n):
            cat = ("complaint", "thanks", "official")[i % 3]
            c = open_case(
                f"FB-2026-{i:06d}",
                category=cat,
                owner="support",
                received=mon,
                due=mon + timedelta(days=2),
                sender=f"c{i}@x.test",
                sender_name="C",
                subject=f"Тема обращения {i}",
                message_id=f"<{i}@x>",
                language="ru",
                rule=f"{cat}-ru",
            )
            if cat == "thanks":
                c = apply(c, "thanks_quoted", mon, text=mails[i % len(mails)][:240])
            elif i % 2:
                c = apply(c, "closed", mon, verdict="justified", cause=f"c{i % 9}", employees=[])
            cases.append(c)
        rep = build_report(
            cases,
            date(2026, 11, 16),
            date(2026, 11, 22),
            mon + timedelta(days=7),
            "Europe/Moscow",
            teams=employee_teams(book),
        )
        msg = compose_digest(
            rep, book, mon + timedelta(days=7), "f@x.test", ["c@x.test"], words=WORDS
        )
        print(f"digest of a week of {n:6} cases: {len(msg.as_bytes()) / 1024:6.1f} KB")


if __name__ == "__main__":
    main()
