"""Classification speed of the default rules.yaml on realistic ~2 KB mail, at growing volume.

    python bench/bench_classify.py                  # 1,000 and 10,000 messages
    python bench/bench_classify.py --sizes 1000,10000,100000 --repeat 3
    python bench/bench_classify.py --rules OTHER.yaml   # e.g. an older rules.yaml, to compare

The messages are the same generator as the drain benchmark's (RU/EN thanks, complaints,
claims, questions, each replying above a quoted order confirmation). For each size N, in this
one process (one core):

- baseline: `parse()` of the N raw messages (what the daemon must do anyway to read them);
- `classify()` of the N parsed messages with the default rules — the figure asked for;
- the whole intake decision (`intake()`: parse, dedupe, policy, classify, deadline, compose
  the acknowledgment, buffer in an in-memory store), for scale.

bench/bench_rules.py measures accuracy (and speed on the labelled e-mails); this one measures
how the cost grows with the volume.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import FEEDBACK, REPO, machine, make_samples, median, spread, table


def measure(n: int, rules: Path = REPO / "rules.yaml") -> dict:
    from daemon.adapters.config import load_rulebook, load_templates
    from daemon.adapters.mail.imap import Fetched
    from daemon.adapters.storage.store import Store
    from daemon.core.mail.message import parse
    from daemon.core.rules import classify
    from daemon.service.intake import Desk, intake

    book = load_rulebook(rules)
    samples = make_samples(n, f"cls{n}")
    raws = [s.raw for s in samples]
    t0 = time.perf_counter()
    msgs = [parse(r) for r in raws]
    t1 = time.perf_counter()
    decisions = [classify(m, book) for m in msgs]
    t2 = time.perf_counter()
    right = sum(d.category == s.kind for d, s in zip(decisions, samples, strict=True))
    store = Store(None)
    desk = Desk(store, book, load_templates(REPO / "templates"), FEEDBACK)
    now = datetime.now(UTC)
    k = min(n, 10_000)  # the in-memory store grows; intake is per message anyway
    t3 = time.perf_counter()
    for i, raw in enumerate(raws[:k]):
        intake(desk, 1, Fetched(i + 1, raw, len(raw), now), now)
    t4 = time.perf_counter()
    return {
        "n": n,
        "parse": n / (t1 - t0),
        "classify": n / (t2 - t1),
        "intake": k / (t4 - t3),
        "agree": right / n,
        "cats": Counter(d.category for d in decisions),
    }


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int)
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rules", type=Path, default=REPO / "rules.yaml")
    ap.add_argument("--json", default="", help="also write the results to this file")
    args = ap.parse_args()
    sizes = [args.n] if args.n else [int(x) for x in args.sizes.split(",")]
    print(f"Classification — {machine()} — {args.rules}")
    rows = []
    every = []
    for n in sizes:
        runs = [measure(n, args.rules) for _ in range(args.repeat if n <= 10_000 else 1)]
        every.append(runs)
        rows.append(
            [
                f"{n:,}",
                spread([r["parse"] for r in runs]),
                spread([r["classify"] for r in runs]),
                f"{median([r['classify'] / r['parse'] for r in runs]):.1f}x",
                spread([1e6 / r["classify"] for r in runs], ".0f"),
                spread([r["intake"] for r in runs]),
                f"{runs[0]['agree']:.0%}",
            ]
        )
        print(f"  {n:,}: categories {dict(runs[0]['cats'])}", flush=True)
    print(
        table(
            [
                "messages",
                "baseline: parse msg/s",
                "classify msg/s",
                "classify rate / parse rate",
                "classify µs/msg",
                "whole intake msg/s",
                "as generated",
            ],
            rows,
            title="Default rules on ~2 KB RU/EN mail (median (min–max), one core)",
        )
    )
    if args.json:
        Path(args.json).write_text(json.dumps(every, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
