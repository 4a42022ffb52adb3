"""Acknowledgment latency: with `feedbackd run` idling in IMAP IDLE, deliver a message and time
until its acknowledgment is in the sender's mailbox.

    python bench/bench_latency.py                      # 60 messages, empty store
    python bench/bench_latency.py --n 50 --store-cases 0,1000,10000

For each store size S (cases the daemon handled earlier; built like bench_store.py does):

- `feedbackd run` starts as a real process on the lab; two warm-up messages are answered first.
- Then, one at a time, each from a distinct customer: open an IMAP session on the customer's
  mailbox, deliver the message into the feedback INBOX over LMTP (a 250 from Dovecot means it is
  stored), and poll the customer's INBOX every 20 ms (NOOP + UID SEARCH on that one session)
  until the acknowledgment is there. Before the next message the daemon is left to settle
  (its own copy filed, INBOX empty), so every measurement starts from an idling daemon.

Baselines, measured the same way in the same run:
- `lab round trip`: deliver a message straight into a customer's mailbox and poll for it —
  the cost of the servers and of the measuring method;
- `IDLE notice`: deliver into a mailbox another session is IDLing on, and time until the server
  says EXISTS — the floor any IDLE client (the daemon included) has to wait on Dovecot.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    FEEDBACK,
    daemon_argv,
    daemon_env,
    machine,
    make_sample,
    percentile,
    start_lab,
    table,
)

POLL = 0.02
ACK_TIMEOUT = 60.0


def _found(box) -> bool:  # type: ignore[no-untyped-def]
    box.client.noop()
    typ, data = box.client.uid("SEARCH", "ALL")
    return typ == "OK" and bool((data[0] or b"").split())


def poll_for_mail(box, timeout: float = ACK_TIMEOUT) -> float | None:  # type: ignore[no-untyped-def]
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if _found(box):
            return time.perf_counter()
        time.sleep(POLL)
    return None


def lab_round_trip(lab, n: int, tag: str) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for i in range(n):
        s = make_sample(i, f"rt{tag}")
        box = lab.mailbox(s.sender)
        try:
            t0 = time.perf_counter()
            lab.deliver(s.raw, s.sender)
            t1 = poll_for_mail(box, 10)
        finally:
            box.logout()
        if t1 is None:
            raise RuntimeError("lab round trip: delivered mail never became visible")
        out.append(t1 - t0)
    return out


def idle_notice(lab, n: int, tag: str) -> list[float]:  # type: ignore[no-untyped-def]
    """Time from delivery to the server's EXISTS for an IDLing session."""
    user = f"idle{tag}@example.test"
    box = lab.mailbox(user)
    out = []
    try:
        for i in range(n):
            box.idle.start()
            t0 = time.perf_counter()
            lab.deliver(make_sample(i, f"idle{tag}").raw, user)
            seen = None
            deadline = time.perf_counter() + 10
            while seen is None and time.perf_counter() < deadline:
                resp = box.idle.poll(timeout=0.5)
                if any(b"EXISTS" in r for r in resp):
                    seen = time.perf_counter()
            box.idle.stop()
            if seen is None:
                raise RuntimeError("IDLE never reported the new mail")
            out.append(seen - t0)
    finally:
        box.logout()
    return out


def settle(lab, timeout: float = 15.0) -> bool:  # type: ignore[no-untyped-def]
    """Wait until the feedback INBOX is empty (the daemon filed the mail and its own copy)."""
    box = lab.mailbox(FEEDBACK)
    try:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            box.client.noop()
            typ, data = box.client.uid("SEARCH", "ALL")
            if typ == "OK" and not (data[0] or b"").split():
                return True
            time.sleep(0.05)
        return False
    finally:
        box.logout()


def daemon_latency(
    lab,
    n: int,
    store_cases: int,
    tag: str,
    work: Path,  # type: ignore[no-untyped-def]
    pause: float = 0.2,
    log_level: str = "WARNING",
) -> dict:
    db = work / f"store-{store_cases}" / "feedbackd.json"
    if store_cases:
        from bench_store import build_store

        build_store(db, store_cases)
    db.parent.mkdir(parents=True, exist_ok=True)
    err = open(work / f"daemon-{store_cases}.log", "wb")  # noqa: SIM115 - the daemon's stderr
    proc = subprocess.Popen(
        daemon_argv("run"),
        env=daemon_env(lab, db, log_level=log_level),
        cwd=str(work),
        stdout=subprocess.DEVNULL,
        stderr=err,
    )
    latencies: list[float] = []
    try:
        for i in range(n + 2):  # two warm-ups, not counted
            if proc.poll() is not None:
                raise RuntimeError(
                    f"feedbackd run exited {proc.returncode}: "
                    f"{(work / f'daemon-{store_cases}.log').read_text()[-2000:]}"
                )
            s = make_sample(i, f"lat{tag}")
            box = lab.mailbox(s.sender)
            try:
                t0 = time.perf_counter()
                lab.deliver(s.raw, FEEDBACK)
                t1 = poll_for_mail(box, ACK_TIMEOUT if i >= 2 else 180)
            finally:
                box.logout()
            if t1 is None:
                log = (work / f"daemon-{store_cases}.log").read_text(errors="replace")
                raise RuntimeError(
                    f"no acknowledgment within {ACK_TIMEOUT} s (message {i}); "
                    f"daemon log: {log[-3000:]}"
                )
            if i >= 2:
                latencies.append(t1 - t0)
            settle(lab, 120 if store_cases >= 50_000 else 15)
            time.sleep(pause)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        err.close()
    return {"store_cases": store_cases, "latencies": latencies}


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=60, help="messages per measurement (>= 50)")
    ap.add_argument(
        "--store-cases",
        default="0",
        help="comma-separated store sizes to measure with, e.g. 0,1000,10000",
    )
    ap.add_argument(
        "--pause",
        type=float,
        default=0.2,
        help="seconds to wait after the daemon settled before the next message",
    )
    ap.add_argument("--log-level", default="WARNING", help="the daemon's log level")
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    sizes = [int(x) for x in args.store_cases.split(",")]
    print(f"Acknowledgment latency on the local mail lab — {machine()}")
    import tempfile

    work = Path(tempfile.mkdtemp(prefix="feedbackd-bench-lat-"))
    lab = start_lab()
    results = []
    try:
        rt = lab_round_trip(lab, args.n, "a")
        idle = idle_notice(lab, min(args.n, 20), "a")
        for size in sizes:
            r = daemon_latency(lab, args.n, size, str(size), work, args.pause, args.log_level)
            results.append(r)
            lat = r["latencies"]
            print(
                f"  store {size:,} cases: p50 {percentile(lat, 50):.3f} s, p95 "
                f"{percentile(lat, 95):.3f} s, max {max(lat):.3f} s",
                flush=True,
            )
    finally:
        lab.stop()
        shutil.rmtree(work, ignore_errors=True)

    def row(name: str, xs: list[float]) -> list[str]:
        return [
            name,
            str(len(xs)),
            f"{percentile(xs, 50) * 1000:.0f}",
            f"{percentile(xs, 95) * 1000:.0f}",
            f"{max(xs) * 1000:.0f}",
        ]

    rows = [
        row("baseline: lab round trip (deliver → visible)", rt),
        row("baseline: Dovecot IDLE notice (deliver → EXISTS)", idle),
    ]
    for r in results:
        rows.append(
            row(
                f"feedbackd run, {r['store_cases']:,} cases in store "
                f"(deliver → ack in sender's INBOX)",
                r["latencies"],
            )
        )
    print(
        table(
            ["measurement", "n", "p50 ms", "p95 ms", "max ms"],
            rows,
            title="Acknowledgment latency (nearest-rank percentiles)",
        )
    )
    rt50, idle50 = percentile(rt, 50), percentile(idle, 50)
    for r in results:
        lat = r["latencies"]
        p50, p95 = percentile(lat, 50), percentile(lat, 95)
        print(
            f"{r['store_cases']:,} cases: p50 {p50:.2f} s ({p50 / rt50:.0f}x the lab round "
            f"trip; {1000 * (p50 - idle50):.0f} ms beyond Dovecot's IDLE notice) — goal ≤ 1 s "
            f"{'met' if p50 <= 1 else 'missed'}; p95 {p95:.2f} s — goal "
            f"≤ 2 s {'met' if p95 <= 2 else 'missed'}"
        )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"round_trip": rt, "idle_notice": idle, "daemon": results}, indent=1)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
