"""The period report, checked on a store filled like a real one: four months of cases, every
category, several owners, on time and late, answered, closed, reopened, open and overdue.

The generator writes down what it did to each case (the ground truth) while it builds the
case through the real lifecycle; the expected figures are then computed from that ground
truth with plain code in this file — never with the helpers of `daemon.report`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from daemon import cli
from daemon.adapters.storage.store import Store
from daemon.core.cases import Case, apply, open_case
from daemon.core.report import render
from daemon.core.report.figures import Report, build_report

TZ = "Europe/Moscow"
MSK = ZoneInfo(TZ)
NOW = datetime(2026, 11, 3, 12, 0, tzinfo=MSK)
START, END = date(2026, 8, 1), date(2026, 10, 31)
FORWARD = {"thanks": ("team",)}
TERMS = {
    "official": timedelta(days=10),
    "complaint": timedelta(days=2),
    "thanks": timedelta(days=5),
    "unclassified": timedelta(days=1),
}
OWNERS = {"official": "legal", "complaint": "support", "thanks": "team", "unclassified": "center"}
RULES = {
    "official": ("official-law-ru", "official-en"),
    "complaint": ("complaint-ru", "complaint-en"),
    "thanks": ("thanks-ru", "thanks-en"),
    "unclassified": ("(no rule matched)",),
}
TAGS = {
    "official": ("legal", "claim"),
    "complaint": ("delivery", "quality", "billing", "rude"),
    "thanks": ("thanks", "courier"),
    "unclassified": (),
}


@dataclass
class Truth:
    """What the generator did to one case, in plain terms."""

    id: str
    category: str
    owner: str
    rule: str
    tags: tuple[str, ...]
    received: datetime
    due: datetime
    actions: list[tuple[datetime, str]] = field(default_factory=list)  # (when, what)

    def seen(self) -> list[tuple[datetime, str]]:
        return [(t, w) for t, w in self.actions if t <= NOW]

    @property
    def answered(self) -> datetime | None:
        answers = [t for t, w in self.seen() if w == "answered"]
        closes = [t for t, w in self.seen() if w == "closed"]
        return min(answers) if answers else (min(closes) if closes else None)

    @property
    def status(self) -> str:
        status = "open"
        for _, what in self.seen():
            status = {"answered": "answered", "closed": "closed", "reply_joined": "open"}[what]
        return status

    @property
    def closed(self) -> datetime | None:
        closes = [t for t, w in self.seen() if w == "closed"]
        return max(closes) if self.status == "closed" else None


def generate(seed: int = 7) -> tuple[list[Case], list[Truth]]:
    rng = random.Random(seed)
    cases: list[Case] = []
    truths: list[Truth] = []
    first = datetime(2026, 6, 20, tzinfo=MSK)
    span = (datetime(2026, 11, 1, tzinfo=MSK) - first).total_seconds()
    for n in range(1, 421):
        category = rng.choices(list(TERMS), weights=(10, 40, 30, 20))[0]
        received = first + timedelta(seconds=rng.randrange(int(span)))  # the store keeps seconds
        term = TERMS[category]
        due = received + term
        tags = tuple(rng.sample(TAGS[category], k=min(len(TAGS[category]), rng.choice((0, 1, 2)))))
        truth = Truth(
            f"FB-2026-{n:06d}",
            category,
            OWNERS[category],
            rng.choice(RULES[category]),
            tags,
            received,
            due,
        )
        case = open_case(
            truth.id,
            category=category,
            owner=truth.owner,
            received=received,
            due=due,
            sender=f"c{n}@example.test",
            sender_name=f"Customer {n}",
            subject=f"Message {n}",
            message_id=f"<m{n}@example.test>",
            language="ru",
            rule=truth.rule,
            tags=tags,
        )
        if rng.random() < 0.25:  # the center hands it to a named employee
            truth.owner = rng.choice(("anna", "boris", "vera"))
            case = apply(case, "reassigned", received + timedelta(minutes=30), owner=truth.owner)
        fate = rng.random()
        if fate < 0.55:
            answer = received + timedelta(
                seconds=int(term.total_seconds() * rng.uniform(0.02, 0.98))
            )
        elif fate < 0.78:
            answer = due + timedelta(seconds=rng.randrange(3600, 120 * 3600))
        else:
            answer = None
        if answer is not None:
            if rng.random() < 0.12:  # closed straight away, without an "answered" event
                case = apply(case, "closed", answer, who=truth.owner)
                truth.actions.append((answer, "closed"))
            else:
                case = apply(case, "answered", answer, who=truth.owner)
                truth.actions.append((answer, "answered"))
                later = answer + timedelta(seconds=rng.randrange(3600, 96 * 3600))
                roll = rng.random()
                if roll < 0.08:  # the customer wrote again
                    case = apply(case, "reply_joined", later, message_id=f"<r{n}@x>")
                    truth.actions.append((later, "reply_joined"))
                elif roll < 0.6:
                    case = apply(case, "closed", later, who=truth.owner)
                    truth.actions.append((later, "closed"))
        cases.append(case)
        truths.append(truth)
    return cases, truths


def nearest_rank_by_hand(values: list[float], p: int) -> float | None:
    if not values:
        return None
    return sorted(values)[math.ceil(p * len(values) / 100) - 1]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Case], list[Truth], Path]:
    cases, truths = generate()
    path = tmp_path_factory.mktemp("store") / "store.json"
    store = Store(path)
    for case in cases:
        store.put_case(case)
    store.commit()
    return Store(path).cases(), truths, path  # read back from disk, like the CLI does


@pytest.fixture(scope="module")
def report(world: tuple[list[Case], list[Truth], Path]) -> Report:
    return build_report(world[0], START, END, NOW, TZ, FORWARD)


def in_period(truths: list[Truth]) -> list[Truth]:
    return [t for t in truths if START <= t.received.date() <= END]


def test_the_generated_store_is_a_realistic_spread(world, report: Report) -> None:
    truths = in_period(world[1])
    assert {t.category for t in truths} == set(TERMS)
    assert len({t.owner for t in truths}) >= 6
    assert report.on_time > 50 and report.late > 20 and report.overdue_unanswered > 10
    assert report.pending > 0 and report.overdue_cases and report.resolution.count > 50
    assert any(t.received.date() < START and t.status == "open" for t in world[1])


def test_counts_by_category_owner_rule_and_tag(world, report: Report) -> None:
    truths = in_period(world[1])
    assert report.total == len(truths)
    for name, key_of in (
        ("category", lambda t: [t.category]),
        ("owner", lambda t: [t.owner]),
        ("rule", lambda t: [t.rule]),
        ("tag", lambda t: list(t.tags)),
    ):
        expected: dict[str, tuple[int, int, int, int]] = {}
        for key in {k for t in truths for k in key_of(t)}:
            mine = [t for t in truths if key in key_of(t)]
            expected[key] = (
                len(mine),
                sum(1 for t in mine if t.answered and t.answered <= t.due),
                sum(1 for t in mine if t.answered and t.answered > t.due),
                sum(1 for t in mine if t.answered is None and t.due < NOW),
            )
        got = {k: (v.count, v.on_time, v.late, v.overdue) for k, v in report.by[name].items()}
        assert got == expected, name
        counts = [v.count for v in report.by[name].values()]
        assert counts == sorted(counts, reverse=True)  # most frequent first


def test_on_time_late_and_percentage(world, report: Report) -> None:
    truths = in_period(world[1])
    on_time = sum(1 for t in truths if t.answered is not None and t.answered <= t.due)
    late = sum(1 for t in truths if t.answered is not None and t.answered > t.due)
    overdue = sum(1 for t in truths if t.answered is None and t.due < NOW)
    pending = sum(1 for t in truths if t.answered is None and t.due >= NOW)
    assert (report.on_time, report.late, report.overdue_unanswered, report.pending) == (
        on_time,
        late,
        overdue,
        pending,
    )
    assert on_time + late + overdue + pending == len(truths)
    assert report.on_time_pct == round(100 * on_time / (on_time + late + overdue), 1)


def test_first_response_and_resolution_median_and_p90(world, report: Report) -> None:
    truths = in_period(world[1])
    response = [(t.answered - t.received).total_seconds() for t in truths if t.answered]
    resolution = [(t.closed - t.received).total_seconds() for t in truths if t.closed]
    assert report.first_response.count == len(response)
    assert report.first_response.median == nearest_rank_by_hand(response, 50)
    assert report.first_response.p90 == nearest_rank_by_hand(response, 90)
    assert report.resolution.count == len(resolution)
    assert report.resolution.median == nearest_rank_by_hand(resolution, 50)
    assert report.resolution.p90 == nearest_rank_by_hand(resolution, 90)


def test_open_and_overdue_lists_are_a_snapshot_at_now(world, report: Report) -> None:
    truths = world[1]
    open_ids = {t.id for t in truths if t.status == "open"}
    overdue_ids = {t.id for t in truths if t.status == "open" and t.due < NOW}
    assert {ln.id for ln in report.open_cases} == open_ids
    assert {ln.id for ln in report.overdue_cases} == overdue_ids
    by_id = {t.id: t for t in truths}
    assert all(ln.owner == by_id[ln.id].owner for ln in report.overdue_cases)
    dues = [ln.due for ln in report.overdue_cases]
    assert dues == sorted(dues)  # the longest overdue first


def test_thanks_per_owner_recipient_and_tag(world, report: Report) -> None:
    thanks = [t for t in in_period(world[1]) if t.category == "thanks"]
    assert report.thanks_by_owner == dict(Counter(t.owner for t in thanks))
    recipients = Counter(t.owner for t in thanks)
    recipients["team"] += sum(1 for t in thanks if t.owner != "team")
    assert report.thanks_by_recipient == dict(recipients)
    assert report.thanks_by_tag == dict(Counter(tag for t in thanks for tag in t.tags))


def test_complaint_topics_by_rule_and_tag(world, report: Report) -> None:
    complaints = [t for t in in_period(world[1]) if t.category == "complaint"]
    assert report.complaint_rules == dict(Counter(t.rule for t in complaints))
    assert report.complaint_tags == dict(Counter(tag for t in complaints for tag in t.tags))
    assert list(report.complaint_tags.values()) == sorted(
        report.complaint_tags.values(), reverse=True
    )


def test_official_letters_with_received_due_and_answered(world, report: Report) -> None:
    official = sorted(
        (t for t in in_period(world[1]) if t.category == "official"), key=lambda t: t.received
    )
    assert [(ln.id, ln.received, ln.due, ln.answered) for ln in report.official] == [
        (t.id, t.received, t.due, t.answered) for t in official
    ]


def test_a_shorter_period_counts_only_its_own_cases(world) -> None:
    october = build_report(world[0], date(2026, 10, 1), date(2026, 10, 31), NOW, TZ, FORWARD)
    expected = Counter(t.category for t in world[1] if t.received.month == 10)
    assert {k: v.count for k, v in october.by["category"].items()} == dict(expected)


# -- definitions on tiny hand-made cases -------------------------------------------------------


def _case(n: int, received: datetime, due: datetime, category: str = "complaint") -> Case:
    return open_case(
        f"FB-2026-{n:06d}",
        category=category,
        owner="support",
        received=received,
        due=due,
        sender="a@example.test",
        sender_name="A",
        subject="s",
        message_id=f"<{n}@x>",
        language="ru",
        rule="complaint-ru",
    )


def test_nearest_rank_percentiles_by_hand() -> None:
    base = datetime(2026, 3, 2, 9, tzinfo=MSK)
    cases = [
        apply(_case(n, base, base + timedelta(days=30)), "answered", base + timedelta(hours=n))
        for n in range(1, 11)
    ]
    r = build_report(cases, date(2026, 3, 2), date(2026, 3, 2), base + timedelta(days=40), TZ)
    assert r.first_response.median == 5 * 3600  # rank ceil(0.5*10) = 5
    assert r.first_response.p90 == 9 * 3600  # rank ceil(0.9*10) = 9
    assert r.on_time_pct == 100.0


def test_an_answer_exactly_at_the_due_moment_is_on_time() -> None:
    t0 = datetime(2026, 3, 2, 9, tzinfo=MSK)
    due = t0 + timedelta(days=2)
    exact = apply(_case(1, t0, due), "answered", due)
    second_late = apply(_case(2, t0, due), "closed", due + timedelta(seconds=1))
    r = build_report([exact, second_late], t0.date(), t0.date(), due + timedelta(days=1), TZ)
    assert (r.on_time, r.late, r.on_time_pct) == (1, 1, 50.0)
    assert r.resolution.median == 2 * 86400 + 1  # the closed one; the answered one is not closed


def test_period_is_by_received_date_in_the_admin_timezone() -> None:
    # 22:30 UTC on the 1st is 01:30 on the 2nd in Moscow: it belongs to the 2nd.
    late_utc = datetime(2026, 3, 1, 22, 30, tzinfo=ZoneInfo("UTC"))
    c = _case(1, late_utc, late_utc + timedelta(days=2))
    now = datetime(2026, 3, 10, tzinfo=MSK)
    assert build_report([c], date(2026, 3, 1), date(2026, 3, 1), now, TZ).total == 0
    assert build_report([c], date(2026, 3, 2), date(2026, 3, 2), now, TZ).total == 1


def test_events_after_now_do_not_count_and_answer_time_may_come_from_data() -> None:
    t0 = datetime(2026, 3, 2, 9, tzinfo=MSK)
    c = apply(_case(1, t0, t0 + timedelta(days=1)), "answered", t0 + timedelta(days=3))
    before = build_report([c], t0.date(), t0.date(), t0 + timedelta(days=2), TZ)
    assert before.pending == 0 and before.overdue_unanswered == 1
    assert [ln.id for ln in before.overdue_cases] == ["FB-2026-000001"]
    after = build_report([c], t0.date(), t0.date(), t0 + timedelta(days=4), TZ)
    assert (after.late, after.overdue_cases) == (1, ())
    # the owner's reply was sent at 15:00 but the daemon saw it the next morning
    d = apply(
        _case(2, t0, t0 + timedelta(hours=8)),
        "answered",
        t0 + timedelta(hours=24),
        answered_at=(t0 + timedelta(hours=6)).isoformat(),
    )
    r = build_report([d], t0.date(), t0.date(), t0 + timedelta(days=5), TZ)
    assert (r.on_time, r.first_response.median) == (1, 6 * 3600)


def test_empty_period_has_no_percentages() -> None:
    r = build_report([], date(2026, 1, 1), date(2026, 1, 31), NOW, TZ)
    assert (r.total, r.on_time_pct, r.first_response.median) == (0, None, None)
    for fmt in ("table", "csv", "json", "html"):
        assert render(r, fmt)


# -- formats -----------------------------------------------------------------------------------


def test_csv_parses_and_carries_the_figures(report: Report) -> None:
    rows = list(csv.DictReader(io.StringIO(render(report, "csv", by="owner"))))
    assert set(rows[0]) == {"section", "key", "metric", "value"}
    cell = {(r["section"], r["key"], r["metric"]): r["value"] for r in rows}
    assert int(cell["summary", "", "total"]) == report.total
    for key, tally in report.by["category"].items():
        assert int(cell["by_category", key, "count"]) == tally.count
        assert int(cell["by_category", key, "late"]) == tally.late
    assert float(cell["first_response", "", "p90_seconds"]) == report.first_response.p90
    sections = [r["section"] for r in rows if r["section"].startswith("by_")]
    assert sections[0] == "by_owner"
    assert {r["key"] for r in rows if r["section"] == "overdue"} == {
        ln.id for ln in report.overdue_cases
    }


def test_json_loads_and_carries_the_figures(report: Report) -> None:
    doc = json.loads(render(report, "json", by="tag"))
    assert list(doc["by"]) == ["tag", "category", "owner", "rule", "cause", "employee", "team"]
    assert doc["total"] == report.total and doc["on_time_pct"] == report.on_time_pct
    assert doc["by"]["owner"]["anna"]["count"] == report.by["owner"]["anna"].count
    assert [x["id"] for x in doc["official"]] == [ln.id for ln in report.official]
    assert doc["complaint_tags"] == report.complaint_tags


def test_table_shows_the_chosen_breakdown_first(report: Report) -> None:
    text = render(report, "table", by="rule", owners={"anna": "Anna Ivanova"})
    assert text.index("By rule") < text.index("By category") < text.index("By owner")
    assert "Anna Ivanova" in text and f"cases received           {report.total}" in text


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.stack: list[str] = []
        self.chart_rows = 0
        self.in_chart = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag in ("table", "tr", "td", "th"):
            self.stack.append(tag)
        if tag == "table" and ("class", "chart") in attrs:
            self.in_chart = len(self.stack)
        if tag == "tr" and self.in_chart and len(self.stack) == self.in_chart + 1:
            self.chart_rows += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("table", "tr", "td", "th"):
            assert self.stack.pop() == tag
            if tag == "table" and len(self.stack) + 1 == self.in_chart:
                self.in_chart = 0


def test_html_is_self_contained_with_a_table_bar_chart(report: Report) -> None:
    page = render(report, "html")
    parser = _Tags()
    parser.feed(page)
    assert parser.stack == []  # every table cell and row closed
    assert parser.chart_rows == 1 + len(report.by["category"])  # title + one bar per category
    assert not {"script", "img", "link", "style"} & set(parser.tags)
    assert "http" not in page and "bgcolor" in page


def test_html_escapes_values_from_cases() -> None:
    t0 = datetime(2026, 3, 2, 9, tzinfo=MSK)
    c = open_case(
        "FB-2026-000001",
        category="complaint",
        owner="<b>x</b>",
        received=t0,
        due=t0,
        sender="a@x",
        sender_name="A",
        subject="s",
        message_id="<1@x>",
        language="ru",
        rule="r",
        tags=("<script>",),
    )
    page = render(build_report([c], t0.date(), t0.date(), NOW, TZ), "html")
    assert "<script>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page


# -- the command ------------------------------------------------------------------------------


def test_report_command_reads_the_store(world, monkeypatch, capsys) -> None:
    monkeypatch.setenv("FEEDBACKD_DB", str(world[2]))
    monkeypatch.delenv("FEEDBACKD_RULES", raising=False)
    code = cli.main(
        [
            "report",
            "--from",
            "2026-08-01",
            "--to",
            "2026-10-31",
            "--now",
            "2026-11-03T12:00",
            "--format",
            "json",
        ]
    )
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["total"] == len(in_period(world[1]))
    assert doc["period"]["now"] == NOW.isoformat()


def test_report_command_refuses_a_reversed_period(world, monkeypatch, capsys) -> None:
    monkeypatch.setenv("FEEDBACKD_DB", str(world[2]))
    assert cli.main(["report", "--from", "2026-10-31", "--to", "2026-08-01"]) == 78
    assert "before --from" in capsys.readouterr().err
