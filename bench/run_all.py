"""Run every benchmark with modest defaults (`make bench`: well under 15 minutes) and print a
summary. Each script can also be run on its own with larger sizes; see docs/performance.md.

    python bench/run_all.py            # drain 1k and 3k (x2), latency 50 msgs (empty store and
                                       # 1k cases), store 1k/10k/100k, classification 1k/10k,
                                       # rules accuracy
    The 10k drain (~5 min) and latency with 10k cases are run by hand (docs/performance.md).
    python bench/run_all.py --quick    # smaller: a few minutes
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.quick:
        plan = [
            ("drain", ["bench_drain.py", "--sizes", "1000", "--repeat", "1"]),
            ("latency", ["bench_latency.py", "--n", "50", "--store-cases", "0"]),
            ("store", ["bench_store.py", "--sizes", "1000,10000", "--repeat", "1"]),
            ("classification", ["bench_classify.py", "--sizes", "1000", "--repeat", "1"]),
            ("rules", ["bench_rules.py"]),
        ]
    else:
        plan = [
            ("drain", ["bench_drain.py", "--sizes", "1000,3000", "--repeat", "2"]),
            ("latency", ["bench_latency.py", "--n", "50", "--store-cases", "0,1000"]),
            ("store", ["bench_store.py", "--sizes", "1000,10000,100000", "--repeat", "2"]),
            ("classification", ["bench_classify.py", "--sizes", "1000,10000", "--repeat", "2"]),
            ("rules", ["bench_rules.py"]),
        ]
    summary = []
    failed = 0
    for name, argv in plan:
        print(f"\n=== {name}: {' '.join(argv)}", flush=True)
        start = time.perf_counter()
        try:
            rc = subprocess.run(
                [sys.executable, str(HERE / argv[0]), *argv[1:]], timeout=1800
            ).returncode
        except subprocess.TimeoutExpired:
            rc = -1
        summary.append((name, rc, time.perf_counter() - start))
        failed += rc != 0
    print("\n| benchmark | exit | minutes |\n|---|---|---|")
    for name, rc, secs in summary:
        print(f"| {name} | {rc} | {secs / 60:.1f} |")
    print("\nFigures and goals: see each section above; the analysis is in docs/performance.md.")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
