"""Run every benchmark with modest defaults (`make bench`) and print one table: every figure,
the baseline measured in the same run, the target, met or missed. Each script can also be run
on its own with larger sizes; see docs/performance.md (which keeps the history of figures).

    python bench/run_all.py            # drain 1k (x2), latency 50 msgs at 0 / 10k / 100k cases
                                       # (realistic history), store 1k/10k/100k, classification
                                       # 1k/10k, rules accuracy
    The 10k drain (~2-5 min) is run by hand: bench_drain.py --n 10000.
    python bench/run_all.py --quick    # smaller: a few minutes
    FEEDBACKD_BENCH_CODE=DIR python bench/run_all.py   # the same benchmarks on another checkout
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import machine, median, percentile, table  # noqa: E402


def plan(quick: bool) -> list[tuple[str, list[str]]]:
    if quick:
        return [
            ("drain", ["bench_drain.py", "--sizes", "1000", "--repeat", "1"]),
            ("latency", ["bench_latency.py", "--n", "50", "--store-cases", "0,10000"]),
            ("store", ["bench_store.py", "--sizes", "1000,10000", "--repeat", "1"]),
            ("classification", ["bench_classify.py", "--sizes", "1000", "--repeat", "1"]),
            ("rules", ["bench_rules.py"]),
        ]
    return [
        ("drain", ["bench_drain.py", "--sizes", "1000", "--repeat", "2"]),
        ("latency", ["bench_latency.py", "--n", "50", "--store-cases", "0,10000,100000"]),
        (
            "store",
            [
                "bench_store.py",
                "--sizes",
                "1000,10000,100000",
                "--scenarios",
                "archived",
                "--repeat",
                "1",
            ],
        ),
        ("classification", ["bench_classify.py", "--sizes", "1000,10000", "--repeat", "2"]),
        ("rules", ["bench_rules.py"]),
    ]


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def drain_rows(runs_by_n: list[list[dict[str, Any]]]) -> list[list[str]]:
    rows = []
    first = runs_by_n[0]
    base_ms = median([1000 * r["daemon"]["seconds"] / r["n"] for r in first])
    for runs in runs_by_n:
        n = runs[0]["n"]
        dae = median([n / r["daemon"]["seconds"] for r in runs])
        same = median([n / r["raw_same"]["total_s"] for r in runs])
        ratio = median([r["raw_same"]["total_s"] / r["daemon"]["seconds"] for r in runs])
        ms = median([1000 * r["daemon"]["seconds"] / n for r in runs])
        peak = median([r["daemon"]["peak_rss_mb"] for r in runs])
        ok = all(r["check"]["ok"] for r in runs)
        rows += [
            [
                f"drain {n:,}: daemon msg/s (checks {'OK' if ok else 'FAILED'})",
                f"{dae:.1f}",
                f"raw-same {same:.1f} msg/s",
                f"≥ 0.9 of raw-same (now {ratio:.2f})",
                verdict(ratio >= 0.9),
            ],
            [
                f"drain {n:,}: daemon ms per message",
                f"{ms:.2f}",
                f"{base_ms:.2f} at {first[0]['n']:,}",
                "within 10 % of the smallest N",
                verdict(ms <= 1.1 * base_ms),
            ],
            [
                f"drain {n:,}: daemon peak RSS MB",
                f"{peak:.0f}",
                "-",
                "≤ 200 MB (at 10,000)",
                verdict(peak <= 200),
            ],
        ]
    return rows


def latency_rows(res: dict[str, Any]) -> list[list[str]]:
    idle50 = percentile(res["idle_notice"], 50)
    empty_ready = next((r["ready_s"] for r in res["daemon"] if not r["store_cases"]), None)
    rows = []
    for r in res["daemon"]:
        lat = r["latencies"]
        p50, p95 = percentile(lat, 50), percentile(lat, 95)
        what = f"{r['store_cases']:,} cases ({r['shape']})"
        ready = r["ready_s"]
        rows += [
            [
                f"ack latency p50 ms, {what}",
                f"{p50 * 1000:.0f}",
                f"IDLE notice p50 {idle50 * 1000:.0f}",
                "≤ IDLE notice + 60 ms",
                verdict(p50 <= idle50 + 0.060),
            ],
            [
                f"ack latency p95 ms, {what}",
                f"{p95 * 1000:.0f}",
                f"IDLE notice p50 {idle50 * 1000:.0f}",
                "≤ IDLE notice + 150 ms",
                verdict(p95 <= idle50 + 0.150),
            ],
            [
                f"READY=1 after start, s, {what}",
                f"{ready:.2f}" if ready is not None else "never",
                f"empty store {empty_ready:.2f}" if empty_ready is not None else "-",
                "≤ 2 s at 100,000 cases",
                verdict(ready is not None and ready <= 2.0),
            ],
            [
                f"RSS steady MB (peak), {what}",
                f"{r['steady_rss_mb']:.0f} ({r['peak_rss_mb']:.0f})",
                "-",
                "≤ 150 MB at 100,000 cases",
                verdict(r["steady_rss_mb"] <= 150),
            ],
        ]
    return rows


def store_rows(results: list[dict[str, Any]]) -> list[list[str]]:
    rows = []
    base = {}
    for r in results:
        runs = r["runs"]
        ms = median([1000 * (x["batch_s"] - x["intake_s"]) / 100 for x in runs])
        base.setdefault(r["scenario"], ms)
        rows.append(
            [
                f"store ms per case (commits + scans), {r['size']:,} cases ({r['scenario']})",
                f"{ms:.2f}",
                f"{base[r['scenario']]:.2f} at the smallest",
                "flat (within 2x)",
                verdict(ms <= 2 * base[r["scenario"]]),
            ]
        )
    return rows


def classify_rows(every: list[list[dict[str, Any]]]) -> list[list[str]]:
    rows = []
    for runs in every:
        rate = median([r["classify"] for r in runs])
        rows.append(
            [
                f"classify msg/s, {runs[0]['n']:,} × ~2 KB",
                f"{rate:,.0f}",
                f"parse {median([r['parse'] for r in runs]):,.0f} msg/s",
                "≥ 2,000 msg/s",
                verdict(rate >= 2000),
            ]
        )
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    out = Path(tempfile.mkdtemp(prefix="feedbackd-bench-all-"))
    summary, failed, rows = [], 0, []
    for name, argv in plan(args.quick):
        print(f"\n=== {name}: {' '.join(argv)}", flush=True)
        result = out / f"{name}.json"
        extra = [] if name == "rules" else ["--json", str(result)]
        start = time.perf_counter()
        try:
            rc = subprocess.run(
                [sys.executable, str(HERE / argv[0]), *argv[1:], *extra], timeout=1800
            ).returncode
        except subprocess.TimeoutExpired:
            rc = -1
        summary.append((name, rc, time.perf_counter() - start))
        failed += rc != 0
        if rc == 0 and result.exists():
            data = json.loads(result.read_text())
            rows += {
                "drain": drain_rows,
                "latency": latency_rows,
                "store": store_rows,
                "classification": classify_rows,
            }[name](data)
    print("\n| benchmark | exit | minutes |\n|---|---|---|")
    for name, rc, secs in summary:
        print(f"| {name} | {rc} | {secs / 60:.1f} |")
    code = os.environ.get("FEEDBACKD_BENCH_CODE") or str(HERE.parent)
    print(
        "\n"
        + table(
            ["figure", "now", "baseline (same run)", "target", "status"],
            rows,
            title=f"Every figure — {machine()}, load {os.getloadavg()[0]:.1f}, code {code}, "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        )
    )
    print("\nThe history of these figures is in docs/performance.md.")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
