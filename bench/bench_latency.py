"""Acknowledgment latency: with `feedbackd run` idling in IMAP IDLE, deliver a message and time
until its acknowledgment is in the sender's mailbox.

    python bench/bench_latency.py                      # 60 messages, empty store
    python bench/bench_latency.py --n 50 --store-cases 0,10000,100000
    python bench/bench_latency.py --store-cases 10000 --shape live   # a daemon never archiving

For each store size S (cases the daemon handled earlier; `--shape archived`, the default, is
the realistic history of bench_store.build_history: ~50 cases a day, archived daily as
shipped; `live` keeps every case live, as the first version of this benchmark did):

- `feedbackd run` starts as a real process on the lab, with a NOTIFY_SOCKET as systemd gives
  it: the time from exec to READY=1 is the start-up figure (the empty store's is the baseline);
  two warm-up messages are answered first.
- Then, one at a time, each from a distinct customer: open an IMAP session on the customer's
  mailbox, deliver the message into the feedback INBOX over LMTP (a 250 from Dovecot means it is
  stored), and poll the customer's INBOX every 20 ms (NOOP + UID SEARCH on that one session)
  until the acknowledgment is there. Before the next message the daemon is left to settle
  (its own copy filed, INBOX empty), so every measurement starts from an idling daemon.
- The daemon's memory: its RSS once settled after the last message (steady) and its VmHWM.

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
import socket
import subprocess
import sys
import threading
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


class NotifySocket:
    """systemd's side of sd_notify: a datagram socket the daemon tells READY=1, STATUS=…;
    read on a thread all along, so a full buffer never holds the daemon up."""

    def __init__(self, path: Path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.5)
        self.ready_at: float | None = None
        self._stop = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop:
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if self.ready_at is None and b"READY=1" in data.split(b"\n"):
                self.ready_at = time.perf_counter()

    def close(self) -> None:
        self._stop = True
        self._thread.join(2)
        self.sock.close()
        self.path.unlink(missing_ok=True)


def proc_mb(pid: int, key: str) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(f"{key}:"):
                return int(line.split()[1]) / 1024
    return 0.0


def daemon_latency(
    lab,
    n: int,
    store_cases: int,
    tag: str,
    work: Path,  # type: ignore[no-untyped-def]
    pause: float = 0.2,
    log_level: str = "WARNING",
    shape: str = "archived",
) -> dict:
    db = work / f"store-{store_cases}" / "feedbackd.json"
    live: dict = {}
    if store_cases:
        from bench_store import build_history, build_store

        if shape == "live":
            build_store(db, store_cases)
        else:
            live = build_history(db, store_cases)
    db.parent.mkdir(parents=True, exist_ok=True)
    err = open(work / f"daemon-{store_cases}.log", "wb")  # noqa: SIM115 - the daemon's stderr
    notify = NotifySocket(work / f"notify-{store_cases}.sock")
    env = daemon_env(lab, db, log_level=log_level)
    env["NOTIFY_SOCKET"] = str(notify.path)
    started = time.perf_counter()
    proc = subprocess.Popen(
        daemon_argv("run"),
        env=env,
        cwd=str(work),
        stdout=subprocess.DEVNULL,
        stderr=err,
    )
    latencies: list[float] = []
    steady = hwm = 0.0
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
        time.sleep(1.0)  # idling again
        steady, hwm = proc_mb(proc.pid, "VmRSS"), proc_mb(proc.pid, "VmHWM")
    finally:
        notify.close()
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        err.close()
    ready = notify.ready_at - started if notify.ready_at is not None else None
    return {
        "store_cases": store_cases,
        "shape": shape if store_cases else "empty",
        "live": live,
        "latencies": latencies,
        "ready_s": ready,
        "steady_rss_mb": steady,
        "peak_rss_mb": hwm,
    }


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
    ap.add_argument(
        "--shape",
        choices=("archived", "live"),
        default="archived",
        help="the store's history: archived daily as shipped (default), or everything live",
    )
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
            r = daemon_latency(
                lab, args.n, size, str(size), work, args.pause, args.log_level, args.shape
            )
            results.append(r)
            lat = r["latencies"]
            print(
                f"  store {size:,} cases ({r['shape']}, live {r['live']}): p50 "
                f"{percentile(lat, 50):.3f} s, p95 {percentile(lat, 95):.3f} s, max "
                f"{max(lat):.3f} s; READY after {r['ready_s']} s; RSS steady "
                f"{r['steady_rss_mb']:.0f} MB, peak {r['peak_rss_mb']:.0f} MB",
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
    rt50, idle50, idle95 = percentile(rt, 50), percentile(idle, 50), percentile(idle, 95)
    ready0 = next((r["ready_s"] for r in results if not r["store_cases"]), None)
    goals = []
    for r in results:
        lat = r["latencies"]
        p50, p95 = percentile(lat, 50), percentile(lat, 95)
        ready = r["ready_s"]
        goals.append(
            [
                f"{r['store_cases']:,} ({r['shape']})",
                f"{1000 * (p50 - idle50):.0f} ms",
                "met" if p50 <= idle50 + 0.060 else "missed",
                f"{1000 * (p95 - idle50):.0f} ms",
                "met" if p95 <= idle50 + 0.150 else "missed",
                f"{ready:.2f} s" if ready is not None else "never",
                f"{ready0:.2f} s" if ready0 is not None else "-",
                "met" if ready is not None and ready <= 2.0 else "missed",
                f"{r['steady_rss_mb']:.0f} MB",
                "met" if r["steady_rss_mb"] <= 150 else "missed",
            ]
        )
    print(
        table(
            [
                "cases in store",
                "p50 beyond IDLE notice",
                "≤ +60 ms",
                "p95 beyond IDLE notice p50",
                "≤ +150 ms",
                "READY after",
                "baseline: READY, empty store",
                "≤ 2 s",
                "RSS steady",
                "≤ 150 MB",
            ],
            goals,
            title=f"Goals (IDLE notice in this run: p50 {idle50 * 1000:.0f} ms, p95 "
            f"{idle95 * 1000:.0f} ms; lab round trip p50 {rt50 * 1000:.0f} ms)",
        )
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"round_trip": rt, "idle_notice": idle, "daemon": results}, indent=1)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
