"""Store scaling: the cost of opening a case, and the daemon's memory, with 1k / 10k / 100k
cases already in the store.

    python bench/bench_store.py                   # 1,000, 10,000 and 100,000 cases
    python bench/bench_store.py --n 10000         # one size
    python bench/bench_store.py --sizes 1000,10000 --repeat 3
    python bench/bench_store.py --scenarios archived,first-archive

No mail servers are needed: the write path is the daemon's own `intake()` (parse, classify,
compose the acknowledgment, put_case + put_ledger + put_outmail) on ~2 KB messages, and the
store calls `run_cycle` and the outbox make around it. For each size S a store file is built
that looks like S cases the daemon handled earlier (each with its ledger entries — the
customer's mail and our filed copy — and its sent acknowledgment, cloned from real intake
output), then a fresh process:

- opens it (`Store(path)`), and reports the time and RSS after opening;
- batch path, as `run_cycle` does it: 100 x intake, commit; outbox -> sending, commit;
  -> sent, commit; ledger -> filed, commit (4 commits per batch of 100) plus the scans a
  cycle makes (known_uids, due outbox, unfiled); cost per case;
- single path: intake of one message and one commit, 10 times; cost per message;
- its peak RSS (wait4), i.e. a daemon that opened the store and ran one batch.

Two shapes of "S cases handled before" (`--scenarios`, default both):

- `live`: every case recent and live, as in the first version of this benchmark (a daemon that
  never archived) — kept for comparison;
- `archived`: what a long-running daemon has: ~50 cases a day over the past S/50 days, the
  newest 500 open, the rest closed two days after they arrived; the daemon's daily `archive()`
  (default retention: closed cases 90 days, sent mail and filed ledger entries 30 days) has
  moved the old records to STORE.archive/*.jsonl, and the journal has been folded into the
  snapshot since (built by `build_history`, case by case, as the measured code ships: where
  it moves sent mail's text to the archive once sent, the live sent mail holds none). About
  4,600 cases stay live from 10k up;
- `first-archive` (on request): the same history right after the first `archive()` of a store
  that had never archived — the big snapshot plus a journal of removals.

Peak RSS is the child's VmHWM (wait4's ru_maxrss carries the parent's size into the child).

Baselines measured in the same run: the same store at the smallest size (the goal is a flat
cost, within 2x), and a plain TinyDB `insert()` of one case document into a default
JSONStorage file holding S documents.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import FEEDBACK, REPO, machine, make_sample, median, rss_mb, run_child, spread, table

BATCH = 100
SINGLES = 10


def desk_for(store):  # type: ignore[no-untyped-def]
    from daemon.adapters.config import load_rulebook, load_templates
    from daemon.service.intake import Desk

    return Desk(
        store, load_rulebook(REPO / "rules.yaml"), load_templates(REPO / "templates"), FEEDBACK
    )


def template_docs(k: int = 64) -> tuple[list[dict], list[dict], list[dict]]:
    """Real documents: intake of k messages into an in-memory store."""
    from daemon.adapters.mail.imap import Fetched
    from daemon.adapters.storage.store import Store
    from daemon.service.intake import intake

    store = Store(None)
    desk = desk_for(store)
    now = datetime.now(UTC)
    for i in range(k):
        s = make_sample(i, "tpl")
        intake(desk, 1, Fetched(i + 1, s.raw, len(s.raw), now), now)
    cases = [c.to_doc() for c in store.cases()]
    ledger = [e.to_doc() for e in store.ledger_entries()]
    outbox = [m.to_doc() for m in store.outbox()]
    return cases, ledger, outbox


PER_DAY = 50  # the realistic history: ~50 new cases a day ...
OPEN = 500  # ... of which the newest 500 are still open; the rest were closed 2 days later


def handled(size: int, history: bool = False) -> Iterator[tuple[dict, dict, list[dict]]]:
    """The documents of `size` cases handled before, one case at a time: (case, its sent
    acknowledgment, its ledger entries: the customer's mail and our filed copy).

    history=False: every case is recent (one a minute) and live — the old benchmark's store,
    i.e. a daemon that never archived. history=True: the cases arrived at PER_DAY a day over
    the past size/PER_DAY days, the newest OPEN are open and every other one was closed two
    days after it arrived."""
    cases_t, ledger_t, outbox_t = template_docs()
    rng = random.Random(size)
    now = datetime.now(UTC)
    year = now.year
    uid = 0
    for j in range(size):
        t = j % len(cases_t)
        cid = f"FB-{year}-{j + 1:06d}"
        sender = f"old{j:07d}@customers.test"
        theirs = f"<old.{j}.{rng.getrandbits(32):x}@customers.test>"
        ours = f"<ack.{j}.{rng.getrandbits(32):x}@example.test>"
        age = timedelta(days=(size - j) / PER_DAY) if history else timedelta(minutes=size - j)
        when = (now - age).isoformat(timespec="seconds")
        c = json.loads(json.dumps(cases_t[t]))
        for e in c["events"]:
            e["at"] = when
        status = c["status"]
        if history and j < size - OPEN:
            status = "closed"
            c["events"].append(
                {
                    "at": (now - age + timedelta(days=2)).isoformat(timespec="seconds"),
                    "who": "agent@example.test",
                    "what": "closed",
                    "data": {},
                }
            )
        c.update(
            id=cid,
            sender=sender,
            message_id=theirs,
            thread=[theirs, ours],
            received=when,
            status=status,
        )
        o = dict(outbox_t[t % len(outbox_t)])
        o.update(
            id=ours,
            case_id=cid,
            recipients=[sender, FEEDBACK],
            state="sent",
            attempts=1,
            created=when,
            sent_at=when,
            attempted_at=when,
        )
        entries = []
        for mid, outcome, folder in (
            (theirs, "case", "Feedback/Complaints"),
            (ours, "own", "Sent"),
        ):
            uid += 1
            e = dict(ledger_t[t])
            e.update(
                uidvalidity=1,
                uid=uid,
                message_id=mid,
                outcome=outcome,
                folder=folder,
                filed=True,
                case_id=cid,
                at=when,
            )
            entries.append(e)
        yield c, o, entries


def seq_meta(size: int) -> dict[str, dict]:
    year = datetime.now(UTC).year
    return {
        "1": {"key": f"case_seq:{year}", "value": size},
        "2": {"key": "backfill_before", "value": ""},
    }


def build_store(path: Path, size: int, history: bool = False) -> float:
    """A store file as the daemon would leave it after handling `size` cases (`handled`) had
    it never archived; returns MB (`retain()` then archives, or see `build_history`)."""
    cases, ledger, outbox = {}, {}, {}
    for c, o, entries in handled(size, history):
        cases[str(len(cases) + 1)] = c
        outbox[str(len(outbox) + 1)] = o
        for e in entries:
            ledger[str(len(ledger) + 1)] = e
    data = {"cases": cases, "ledger": ledger, "outbox": outbox, "meta": seq_meta(size)}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), "utf-8")
    return path.stat().st_size / 1e6


def build_history(path: Path, size: int) -> dict:
    """The store of a daemon that handled `size` cases over size/PER_DAY days and archived
    daily as shipped: what `build_store(history=True)` + the daily `archive()` leave (default
    retention), written straight into the live file and the archive, one case at a time, so a
    100k history is built without holding or opening a 100k-case store. Where the code
    measured moves sent mail's text to the archive once sent (`shed_sent_text`), live sent
    mail is kept without its text and its whole line is in the archive, as that daemon leaves
    it. Returns the live counts."""
    from daemon.adapters.storage import archive as archiving
    from daemon.adapters.storage.files import StorePaths

    shed = hasattr(archiving, "shed_sent_text")
    keep = archiving.Retention()
    now = datetime.now(UTC)
    folder = StorePaths(path).archive
    folder.mkdir(parents=True, exist_ok=True)

    def old(stamp: str, age: timedelta) -> bool:
        return datetime.fromisoformat(stamp) < now - age

    live: dict[str, dict] = {"cases": {}, "ledger": {}, "outbox": {}, "meta": seq_meta(size)}
    with (
        open(folder / f"cases-{now:%Y}.jsonl", "w", encoding="utf-8") as cases_f,
        open(folder / f"outbox-{now:%Y}.jsonl", "w", encoding="utf-8") as outbox_f,
        open(folder / f"ledger-{now:%Y}.jsonl", "w", encoding="utf-8") as ledger_f,
    ):

        def line(f, doc: dict) -> None:  # type: ignore[no-untyped-def]
            f.write(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n")

        for c, o, entries in handled(size, history=True):
            if c["status"] == "closed" and old(c["events"][-1]["at"], keep.closed_cases):
                line(cases_f, c)
            else:
                live["cases"][str(len(live["cases"]) + 1)] = c
            if old(o["sent_at"] or o["created"], keep.sent_mail):
                line(outbox_f, o)
            elif shed and o["state"] == "sent":
                line(outbox_f, o)
                live["outbox"][str(len(live["outbox"]) + 1)] = o | {"raw": ""}
            else:
                live["outbox"][str(len(live["outbox"]) + 1)] = o
            for e in entries:
                if e["filed"] and old(e["at"], keep.ledger):
                    line(ledger_f, e)
                else:
                    live["ledger"][str(len(live["ledger"]) + 1)] = e
    live["meta"][str(len(live["meta"]) + 1)] = {"key": "archived_on", "value": str(now.date())}
    path.write_text(json.dumps(live, ensure_ascii=False, separators=(",", ":")), "utf-8")
    return {t: len(live[t]) for t in ("cases", "ledger", "outbox")}


def retain(path: Path, compact: bool = True) -> dict:
    """Run the daemon's daily `archive()` (default retention) over a store built with history.

    A daemon that has archived daily for years has folded its journal into the snapshot many
    times, so its snapshot holds the live set only: compact=True writes the snapshot once after
    archiving. compact=False leaves the store as the *first* archive() of an old store leaves
    it: the big snapshot plus a journal of removals (see docs/performance.md)."""
    from daemon.adapters.storage.archive import Retention, archive
    from daemon.adapters.storage.files import StorePaths
    from daemon.adapters.storage.store import Store

    now = datetime.now(UTC)
    store = Store(path)
    t = time.perf_counter()
    moved = archive(store, path, now, Retention())
    archive_s = time.perf_counter() - t
    if compact:
        store.snapshot()
    live = {
        "cases": len(store.docs("cases")),
        "ledger": len(store.docs("ledger")),
        "outbox": len(store.docs("outbox")),
    }
    store.close()
    del store
    arch = sum(f.stat().st_size for f in StorePaths(Path(path)).archive.glob("*.jsonl")) / 1e6
    return {"moved": moved, "archive_s": archive_s, "live": live, "archive_mb": arch}


def store_mb(path: Path) -> tuple[float, float]:
    """Snapshot and journal sizes in MB."""
    j = Path(f"{path}.journal")
    return (
        path.stat().st_size / 1e6 if path.exists() else 0.0,
        j.stat().st_size / 1e6 if j.exists() else 0.0,
    )


# -- the measuring child ----------------------------------------------------------------------


def child(path: str, size: int) -> None:
    from dataclasses import replace

    from daemon.adapters.mail.imap import Fetched
    from daemon.adapters.storage.store import Store
    from daemon.core.records import PENDING, OutState
    from daemon.service.intake import intake

    t = time.perf_counter()
    store = Store(path)
    open_s = time.perf_counter() - t
    rss_open = rss_mb()
    desk = desk_for(store)
    now = datetime.now(UTC)
    samples = [make_sample(i, f"new{size}") for i in range(BATCH + SINGLES)]
    uid0 = 10 * size + 10  # beyond every UID in the store

    # The batch path, with the same store calls as run_cycle / outbox.deliver / file_messages.
    t0 = time.perf_counter()
    known = store.known_uids(1)
    due_before = len([m for m in store.outbox(*PENDING) if m.due(now)])
    t1 = time.perf_counter()
    for i, s in enumerate(samples[:BATCH]):
        assert uid0 + i not in known
        intake(desk, 1, Fetched(uid0 + i, s.raw, len(s.raw), now), now)
    t2 = time.perf_counter()
    store.commit()
    t3 = time.perf_counter()
    due = [m for m in store.outbox(*PENDING) if m.due(now)]
    sending = [
        store.update_outmail(m, state=OutState.SENDING, attempts=1, attempted_at=now) for m in due
    ]
    store.commit()
    for m in sending:
        store.update_outmail(m, state=OutState.SENT, sent_at=now)
    store.commit()
    pending = store.unfiled(1)
    for e in pending:
        store.put_ledger(replace(e, filed=True))
    store.commit()
    t4 = time.perf_counter()
    acks = sum(1 for m in due if m.kind == "ack")
    if due_before or acks != BATCH:  # every new message owes one acknowledgment (and the
        # daemon now also owes notices to case owners: ~2.25 mails per message in all)
        raise RuntimeError(f"expected {BATCH} acknowledgments due, found {acks}")

    # The single-message path: one message, one commit.
    singles = []
    for i, s in enumerate(samples[BATCH:]):
        a = time.perf_counter()
        intake(desk, 1, Fetched(uid0 + BATCH + i, s.raw, len(s.raw), now), now)
        store.commit()
        singles.append(time.perf_counter() - a)
    cases_now = len(store.cases())
    store.close()
    journal = Path(f"{path}.journal")
    hwm = 0.0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
    print(
        json.dumps(
            {
                "hwm_mb": hwm,
                "snapshot_end_mb": os.path.getsize(path) / 1e6,
                "journal_end_mb": journal.stat().st_size / 1e6 if journal.exists() else 0.0,
                "open_s": open_s,
                "rss_open_mb": rss_open,
                "scan_s": (t1 - t0),
                "intake_s": t2 - t1,
                "commit1_s": t3 - t2,
                "rest_s": t4 - t3,
                "batch_s": t4 - t0,
                "acks": acks,
                "mails_due": len(due),
                "single_s": median(singles),
                "cases": cases_now,
                "rss_end_mb": rss_mb(),
            }
        )
    )


def tinydb_insert(path: Path, size: int, budget_s: float = 20.0) -> float:
    """Seconds per plain TinyDB insert (default JSONStorage) into a file of `size` docs."""
    from tinydb import TinyDB

    data = json.loads(path.read_text("utf-8"))
    plain = path.with_name("plain.json")
    plain.write_text(json.dumps({"_default": data["cases"]}, ensure_ascii=False), "utf-8")
    del data
    db = TinyDB(str(plain))
    doc = dict(db.table("_default").get(doc_id=1) or {})
    times = []
    start = time.perf_counter()
    while len(times) < 20 and (len(times) < 2 or time.perf_counter() - start < budget_s):
        doc["id"] = f"FB-PLAIN-{len(times)}"
        a = time.perf_counter()
        db.insert(doc)
        times.append(time.perf_counter() - a)
    db.close()
    plain.unlink()
    return median(times)


def measure(size: int, repeat: int, work: Path, scenario: str = "live") -> dict:
    path = work / f"store-{size}-{scenario}" / "feedbackd.json"
    t = time.perf_counter()
    kept: dict = {}
    if scenario == "archived":  # built case by case: no 100k-case store is ever opened
        kept = {"live": build_history(path, size), "moved": 0, "archive_s": 0.0}
        kept["archive_mb"] = (
            sum(f.stat().st_size for f in Path(f"{path}.archive").glob("*.jsonl")) / 1e6
        )
    else:
        build_store(path, size, history=scenario != "live")
        if scenario != "live":
            kept = retain(path, compact=False)
    snap, journal = store_mb(path)
    mb = snap + journal
    build_s = time.perf_counter() - t
    runs = []
    for _ in range(repeat):
        copy = path.with_name("run.json")
        shutil.copyfile(path, copy)
        if journal:
            shutil.copyfile(f"{path}.journal", f"{copy}.journal")
        else:
            Path(f"{copy}.journal").unlink(missing_ok=True)
        res = run_child(
            [sys.executable, __file__, "--child", str(copy), "--n", str(size)],
            env={**os.environ, "PYTHONPATH": str(REPO)},
            timeout=1800,
        )
        if res.returncode != 0:
            raise RuntimeError(f"store child failed at {size}: {res.stderr[-3000:]}")
        r = json.loads(res.stdout.strip().splitlines()[-1])
        r["peak_rss_mb"] = max(r["hwm_mb"], res.peak_rss_mb)  # the child's own high-water
        r["wait4_maxrss_mb"] = res.wait4_maxrss_mb
        r["process_s"] = res.seconds
        runs.append(r)
        copy.unlink(missing_ok=True)
        Path(f"{copy}.journal").unlink(missing_ok=True)
    plain = tinydb_insert(path, size) if scenario == "live" else None
    shutil.rmtree(path.parent, ignore_errors=True)
    return {
        "size": size,
        "scenario": scenario,
        "file_mb": mb,
        "snapshot_mb": snap,
        "journal_mb": journal,
        "build_s": build_s,
        "runs": runs,
        "plain_insert_s": plain,
        **kept,
    }


SCENARIOS = {
    "live": "everything live (never archived)",
    "archived": "history archived (daily archive(), steady state)",
    "first-archive": "history, right after the first archive() (no snapshot yet)",
}


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, help="one size only")
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument(
        "--scenarios",
        default="live,archived",
        help="comma-separated: " + ", ".join(f"{k} = {v}" for k, v in SCENARIOS.items()),
    )
    ap.add_argument("--repeat", type=int, default=0, help="default: 3 below 50,000 cases, else 1")
    ap.add_argument("--json", default="")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.n)
        return 0
    sizes = [args.n] if args.n else [int(x) for x in args.sizes.split(",")]
    scenarios = [x for x in args.scenarios.split(",") if x]
    print(f"Store scaling — {machine()}")
    work = Path(tempfile.mkdtemp(prefix="feedbackd-bench-store-"))
    results = []
    try:
        for scenario in scenarios:
            for size in sizes:
                r = measure(size, args.repeat or (3 if size < 50_000 else 1), work, scenario)
                results.append(r)
                m = r["runs"]
                extra = (
                    f"; live {r['live']} after archiving {r['moved']:,} docs "
                    f"({r['archive_s']:.1f} s) into {r['archive_mb']:.1f} MB of archive"
                    if "live" in r
                    else ""
                )
                print(
                    f"  [{scenario}] {size:,} cases: store {r['file_mb']:.1f} MB "
                    f"(snapshot {r['snapshot_mb']:.1f} + journal {r['journal_mb']:.1f}); open "
                    f"{median([x['open_s'] for x in m]):.2f} s; per case in a batch "
                    f"{1000 * median([x['batch_s'] for x in m]) / BATCH:.2f} ms; single "
                    f"{1000 * median([x['single_s'] for x in m]):.1f} ms; peak RSS "
                    f"{median([x['peak_rss_mb'] for x in m]):.0f} MB{extra}",
                    flush=True,
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for scenario in scenarios:
        res = [r for r in results if r["scenario"] == scenario]
        base = res[0]
        base_case = median([x["batch_s"] for x in base["runs"]]) / BATCH
        base_single = median([x["single_s"] for x in base["runs"]])
        rows = []
        for r in res:
            m = r["runs"]
            per_case = [x["batch_s"] / BATCH for x in m]
            rows.append(
                [
                    f"{r['size']:,}",
                    f"{r['live']['cases']:,}" if "live" in r else f"{r['size']:,}",
                    f"{r['file_mb']:.1f}",
                    f"{r.get('archive_mb', 0):.1f}",
                    spread([x["open_s"] for x in m], ".2f"),
                    spread([1000 * x["intake_s"] / BATCH for x in m], ".2f"),
                    spread([1000 * (x["batch_s"] - x["intake_s"]) / BATCH for x in m], ".2f"),
                    spread([1000 * p for p in per_case], ".2f"),
                    f"{median(per_case) / base_case:.1f}x",
                    spread([1000 * x["single_s"] for x in m], ".1f"),
                    f"{median([x['single_s'] for x in m]) / base_single:.1f}x",
                    f"{1000 * r['plain_insert_s']:.0f}" if r["plain_insert_s"] else "—",
                    spread([x["rss_open_mb"] for x in m], ".0f"),
                    spread([x["peak_rss_mb"] for x in m], ".0f"),
                ]
            )
        print(
            table(
                [
                    "cases (total)",
                    "live cases",
                    "store MB (snapshot + journal)",
                    "archive MB",
                    "open s",
                    "intake ms/case",
                    "store ms/case (4 commits/100)",
                    "batch ms/case",
                    "vs smallest",
                    "single msg ms (1 commit)",
                    "vs smallest",
                    "plain TinyDB insert ms",
                    "RSS after open MB",
                    "peak RSS MB",
                ],
                rows,
                title=f"{SCENARIOS.get(scenario, scenario)}: opening a case with S cases "
                "handled before (median (min–max) of runs)",
            )
        )
        big = res[-1]
        flat = median([x["batch_s"] for x in big["runs"]]) / BATCH / base_case
        rss = median([x["peak_rss_mb"] for x in big["runs"]])
        print(
            f"Goal [{scenario}]: cost per case flat within 2x from {base['size']:,} to "
            f"{big['size']:,} cases: {flat:.1f}x — {'met' if flat <= 2 else 'missed'}; peak "
            f"RSS with {big['size']:,} cases ≤ 150 MB: {rss:.0f} MB — "
            f"{'met' if rss <= 150 else 'missed'}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
