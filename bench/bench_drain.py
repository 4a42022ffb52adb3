"""Backlog drain: how fast `feedbackd once` classifies, stores, acknowledges and files a backlog,
against the raw speed of the same servers.

    python bench/bench_drain.py                 # 1,000 and 10,000 messages (a cost table)
    python bench/bench_drain.py --n 1000        # one size, quick
    python bench/bench_drain.py --sizes 1000,10000 --repeat 3

For each size N, on a fresh lab (Dovecot + the lab's SMTP server, loopback):

1. N realistic ~2 KB messages (RU/EN; thanks, complaints, claims, questions; one distinct
   sender per message, because the daemon acknowledges a sender at most once a day) are
   APPENDed twice: to the baseline's mailbox and to the daemon's feedback mailbox.
2. Baseline, in a child process: imap-tools `fetch(bulk=True)` of the whole INBOX, then
   aiosmtplib sends one acknowledgment-sized mail per message (STARTTLS + AUTH) over the same
   number of parallel connections as the daemon's Sender (4, or `--connections N`, which the
   daemon is then given too: FEEDBACKD_SMTP_CONNECTIONS). Two variants:
   `raw-1rcpt` — to the customer only (the issue's baseline);
   `raw-2rcpt` — to the customer and a copy to the feedback address, the envelope the daemon
   actually sends (its copy proves the mail went out; see README);
   `raw-same` — exactly the mail the daemon sends for this backlog (acknowledgments, owner
   notices with the original attached, thanks forwarded: ~2.25 mails per message), composed
   beforehand by the daemon's own code, so that only the wire work is timed.
   Baseline mail goes to the same customers at another domain, so that it too creates N fresh
   customer mailboxes in Dovecot, as the daemon's acknowledgments do.
3. The daemon: `feedbackd once` as a real process with a real store file, wall time from
   exec to exit (process start and rule loading included, ~0.5 s).
4. Checks: cases == N, N acknowledgments sent, INBOX empty, N originals filed, N copies in
   Sent, N customer mailboxes created, a sample of them holding the acknowledgment.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from datetime import UTC

from common import (
    FEEDBACK,
    REPO,
    daemon_argv,
    daemon_env,
    fmt_rate,
    imap_append_load,
    machine,
    make_samples,
    median,
    run_child,
    spread,
    start_lab,
    table,
)

#: The daemon's default (daemon/adapters/settings.py SMTP_CONNECTIONS); --connections sets both.
CONNECTIONS = 4
BASE_USER = "baseline@example.test"


def daemon_mail(samples) -> list[tuple[list[str], bytes]]:
    """The mail the daemon will send for these samples (envelope recipients, bytes), composed by
    its own intake path with no I/O: the `raw-same` baseline sends exactly this."""
    from datetime import datetime

    from daemon.adapters.config import load_rulebook, load_templates
    from daemon.adapters.mail.imap import Fetched
    from daemon.adapters.storage.store import Store
    from daemon.service.intake import Desk, intake

    store = Store(None)
    desk = Desk(
        store, load_rulebook(REPO / "rules.yaml"), load_templates(REPO / "templates"), FEEDBACK
    )
    now = datetime.now(UTC)
    for i, s in enumerate(samples):
        intake(desk, 1, Fetched(i + 1, s.raw, len(s.raw), now), now)
    return [(list(m.recipients), m.raw.encode("utf-8")) for m in store.outbox()]


# -- the baseline, run as a child process so it does not share a GIL with the SMTP server ----


def baseline_child(cfg: dict) -> None:
    import ssl

    import aiosmtplib
    from imap_tools import MailBox

    ctx = ssl.create_default_context(cafile=cfg["ca"])
    t0 = time.perf_counter()
    box = MailBox("127.0.0.1", cfg["imaps"], ssl_context=ctx).login(
        cfg["user"], cfg["password"], initial_folder="INBOX"
    )
    msgs = list(box.fetch(bulk=True, mark_seen=False))
    box.logout()
    t1 = time.perf_counter()
    pad = "x" * 60 + "\r\n"
    mails = []
    if cfg.get("mails"):  # raw-same: the daemon's own mail, to the same people at another domain
        for line in Path(cfg["mails"]).read_text().splitlines():
            item = json.loads(line)
            rcpts = [
                cfg["copy_to"] if r == FEEDBACK else r.split("@")[0] + "@" + cfg["domain"]
                for r in item["rcpts"]
            ]
            mails.append((rcpts, item["raw"].encode("utf-8")))
        msgs_to_answer: list = []
    else:
        msgs_to_answer = msgs
    for i, m in enumerate(msgs_to_answer):
        to = m.from_.replace("@customers.test", "@" + cfg["domain"])
        head = (
            f"From: Feedback Center <{cfg['user']}>\r\nTo: {to}\r\n"
            f"Subject: Re: {m.subject[:60]} [FB-BENCH-{i:06d}]\r\n"
            f"Message-ID: <raw.{cfg['domain']}.{i}@example.test>\r\n"
            "Auto-Submitted: auto-replied\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        )
        body = pad * max(1, (cfg["size"] - len(head)) // len(pad))
        rcpts = [to, cfg["copy_to"]] if cfg["copy_to"] else [to]
        mails.append((rcpts, (head + body).encode()))

    async def send_all() -> int:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(len(mails)):
            queue.put_nowait(i)
        sent = 0

        async def worker() -> None:
            nonlocal sent
            smtp = aiosmtplib.SMTP(
                hostname="127.0.0.1", port=cfg["smtp"], start_tls=True, tls_context=ctx, timeout=60
            )
            await smtp.connect()
            await smtp.login(cfg["user"], cfg["password"])
            while not queue.empty():
                rcpts, raw = mails[queue.get_nowait()]
                await smtp.sendmail(cfg["user"], rcpts, raw)
                sent += 1
            await smtp.quit()

        await asyncio.gather(*(worker() for _ in range(cfg["connections"])))
        return sent

    sent = asyncio.run(send_all())
    t2 = time.perf_counter()
    print(
        json.dumps(
            {
                "fetched": len(msgs),
                "sent": sent,
                "mails": len(mails),
                "fetch_s": t1 - t0,
                "send_s": t2 - t1,
                "total_s": t2 - t0,
            }
        )
    )


def run_baseline(
    lab, user: str, n: int, size: int, copy_to: str, domain: str, mails: str = ""
) -> dict:
    cfg = {
        "imaps": lab.ports.imaps,
        "smtp": lab.ports.smtp,
        "ca": str(lab.cert),
        "user": user,
        "password": lab.password,
        "size": size,
        "copy_to": copy_to,
        "domain": domain,
        "connections": CONNECTIONS,
        "mails": mails,
    }
    res = run_child([sys.executable, __file__, "--baseline-child", json.dumps(cfg)], timeout=3600)
    if res.returncode != 0:
        raise RuntimeError(f"baseline failed: {res.stderr[-2000:]}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    if out["fetched"] != n or out["sent"] != out["mails"]:
        raise RuntimeError(f"baseline handled {out['fetched']}/{out['sent']} of {n}")
    out["peak_rss_mb"] = res.peak_rss_mb
    return out


# -- the daemon ----------------------------------------------------------------------------


def run_daemon(lab, db: Path, profile: str = "") -> dict:
    env = daemon_env(lab, db)
    if CONNECTIONS != 4:  # only then: code from before the setting would warn about it
        env["FEEDBACKD_SMTP_CONNECTIONS"] = str(CONNECTIONS)
    argv = daemon_argv("once")
    if profile:
        argv = [sys.executable, "-m", "cProfile", "-o", profile, "-m", "daemon", "once"]
    res = run_child(argv, env=env, timeout=3600)
    if res.returncode != 0:
        raise RuntimeError(f"feedbackd once exited {res.returncode}: {res.stderr[-3000:]}")
    return {
        "seconds": res.seconds,
        "cpu_s": res.cpu_s,
        "peak_rss_mb": res.peak_rss_mb,
        "summary": res.stdout.strip().splitlines()[-1] if res.stdout.strip() else "",
    }


def check_daemon(lab, n: int, db: Path, samples) -> dict:
    """Everything the drain should have done, checked on the store and the servers."""
    from daemon.adapters.storage.store import Store

    # Read through the daemon's Store: the snapshot (db) alone misses what is still in the
    # journal (db.journal) since the last fold.
    store = Store.preview(db)
    cases = {c.id: c for c in store.cases()}
    mails = store.outbox()
    acks = [m for m in mails if m.kind == "ack"]
    sent = sum(1 for m in acks if m.state == "sent")
    kinds: dict[str, int] = {}
    for m in mails:
        kinds[f"{m.kind}:{m.state}"] = kinds.get(f"{m.kind}:{m.state}", 0) + 1
    # Every mail we send carries a copy to our own address (see README); the copies of the
    # mail sent by the cycle's last step (duties, e.g. a digest) arrive after its last pass
    # and are filed by the next cycle, so they may still be in INBOX.
    own = sum(1 for m in mails if m.state == "sent" and FEEDBACK in m.recipients)
    unsettled = sum(1 for m in mails if m.state in ("queued", "sending", "failed"))
    categories: dict[str, int] = {}
    for c in cases.values():
        categories[c.category] = categories.get(c.category, 0) + 1
    del store
    journal = Path(f"{db}.journal")
    snap_mb = db.stat().st_size / 1e6 if db.exists() else 0.0
    journal_mb = journal.stat().st_size / 1e6 if journal.exists() else 0.0
    box = lab.mailbox(FEEDBACK)
    try:
        folders = {f.name for f in box.folder.list() if "\\Noselect" not in f.flags}
        counts = {f: int(box.folder.status(f, ["MESSAGES"])["MESSAGES"]) for f in folders}
    finally:
        box.logout()
    filed = sum(v for k, v in counts.items() if k.startswith("Feedback/") or k == "Quarantine")
    mail_root = lab.root / "mail"
    customers = {s.sender for s in samples}
    made = sum(1 for s in customers if (mail_root / s).exists())
    sampled_ok = 0
    picked = samples[:: max(1, len(samples) // 10)][:10]
    for s in picked:
        b = lab.mailbox(s.sender)
        try:
            subjects = [m.subject for m in b.fetch(bulk=True, mark_seen=False)]
        finally:
            b.logout()
        sampled_ok += any("FB-" in subj for subj in subjects)
    return {
        "cases": len(cases),
        "acks_sent": sent,
        "inbox_left": counts.get("INBOX", -1),
        "filed": filed,
        "sent_copies": counts.get("Sent", 0),
        "customer_mailboxes": made,
        "sampled_acks": f"{sampled_ok}/{len(picked)}",
        "categories": categories,
        "store_mb": snap_mb + journal_mb,
        "snapshot_mb": snap_mb,
        "journal_mb": journal_mb,
        "mails": kinds,
        "own_copies_owed": own,
        # The daemon now also sends notices to case owners and duty mail, so Sent holds
        # more than n copies: every copy owed is either filed in Sent or still in INBOX.
        "ok": len(cases) == n
        and sent == n
        and unsettled == 0
        and filed == n
        and made == n
        and counts.get("Sent", 0) + counts.get("INBOX", -1) == own
        and counts.get("INBOX", -1)
        <= sum(v for k, v in kinds.items() if not k.startswith(("ack:", "notice:")))
        and sampled_ok == len(picked),
    }


def drain_once(n: int, tag: str, profile: str = "") -> dict:
    """One measurement at size n on a fresh lab: load, two baselines, the daemon, checks."""
    samples = make_samples(n, tag)
    same = daemon_mail(samples)
    acks = [raw for rcpts, raw in same if b"\r\nAuto-Submitted: auto-replied" in raw]
    size = int(sum(map(len, acks)) / max(1, len(acks)))
    lab = start_lab()
    try:
        raws = [s.raw for s in samples]
        t = time.perf_counter()
        imap_append_load(lab, BASE_USER, raws)
        load_s = time.perf_counter() - t
        imap_append_load(lab, FEEDBACK, raws)
        mails = lab.root / "daemon-mail.jsonl"
        mails.write_text(
            "".join(json.dumps({"rcpts": r, "raw": raw.decode("utf-8")}) + "\n" for r, raw in same)
        )
        b1 = run_baseline(lab, BASE_USER, n, size, "", f"b1{tag}.test")
        b3 = run_baseline(
            lab, BASE_USER, n, size, f"copies@b3{tag}.test", f"b3{tag}.test", str(mails)
        )
        b2 = run_baseline(lab, BASE_USER, n, size, BASE_USER, f"b2{tag}.test")  # copies last
        db = lab.root / "bench-store" / "feedbackd.json"
        d = run_daemon(lab, db, profile)
        check = check_daemon(lab, n, db, samples)
    finally:
        lab.stop()
    return {
        "n": n,
        "ack_size": size,
        "load_rate": n / load_s,
        "raw1": b1,
        "raw2": b2,
        "raw_same": b3,
        "same_mails": len(same),
        "daemon": d,
        "check": check,
    }


def main() -> int:
    global CONNECTIONS
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, help="one size only (default: --sizes)")
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument(
        "--repeat",
        type=int,
        default=0,
        help="runs per size (default: 3 below 5,000 messages, else 1)",
    )
    ap.add_argument("--profile", default="", help="write a cProfile of the largest daemon run")
    ap.add_argument("--json", default="", help="also write the results to this file")
    ap.add_argument(
        "--connections",
        type=int,
        default=CONNECTIONS,
        help="SMTP connections of the baselines and the daemon (default: the daemon's, 4)",
    )
    ap.add_argument("--baseline-child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.baseline_child:
        baseline_child(json.loads(args.baseline_child))
        return 0
    CONNECTIONS = args.connections
    sizes = [args.n] if args.n else [int(x) for x in args.sizes.split(",")]
    print(f"Backlog drain on the local mail lab — {machine()}")
    results = []
    failed = False
    for n in sizes:
        reps = args.repeat or (3 if n < 5000 else 1)
        runs = []
        for r in range(reps):
            prof = args.profile if (args.profile and n == max(sizes) and r == 0) else ""
            run = drain_once(n, f"{n}r{r}", prof)
            runs.append(run)
            c = run["check"]
            d, b1, b2, b3 = run["daemon"], run["raw1"], run["raw2"], run["raw_same"]
            print(
                f"  N={n:,} run {r + 1}/{reps}: raw-1rcpt {b1['total_s']:.2f} s "
                f"(fetch {b1['fetch_s']:.2f} + send {b1['send_s']:.2f}), raw-2rcpt "
                f"{b2['total_s']:.2f} s, raw-same {b3['total_s']:.2f} s "
                f"({b3['mails']:,} mails), daemon {d['seconds']:.2f} s (CPU {d['cpu_s']:.2f} s) "
                f"[{d['summary']}]; checks {'OK' if c['ok'] else 'FAILED'} {c}",
                flush=True,
            )
            failed |= not c["ok"]
        results.append(runs)
    rows, ratio_rows = [], []
    for runs in results:
        n = runs[0]["n"]
        raw1 = [n / r["raw1"]["total_s"] for r in runs]
        raw2 = [n / r["raw2"]["total_s"] for r in runs]
        same = [n / r["raw_same"]["total_s"] for r in runs]
        dae = [n / r["daemon"]["seconds"] for r in runs]
        fetch = [n / r["raw1"]["fetch_s"] for r in runs]
        per_msg = median([r["check"].get("own_copies_owed", n) / n for r in runs])
        rows.append(
            [
                f"{n:,}",
                f"{per_msg:.2f}",
                spread(fetch),
                spread(raw1),
                spread(raw2),
                spread(same),
                spread(dae),
                f"{median([r['daemon']['seconds'] for r in runs]):,.1f}",
                f"{median([1000 * r['daemon']['seconds'] / n for r in runs]):.2f}",
                f"{median([r['daemon']['peak_rss_mb'] for r in runs]):.0f}",
                f"{median([r['check']['store_mb'] for r in runs]):.1f}",
            ]
        )
        to_same = median([d / b for d, b in zip(dae, same, strict=True)])
        per_msg_ms = median([1000 * r["daemon"]["seconds"] / n for r in runs])
        smallest = results[0]
        base_ms = median([1000 * r["daemon"]["seconds"] / r["n"] for r in smallest])
        peak = median([r["daemon"]["peak_rss_mb"] for r in runs])
        ratio_rows.append(
            [
                f"{n:,}",
                f"{median([d / b for d, b in zip(dae, raw1, strict=True)]):.0%}",
                f"{median([d / b for d, b in zip(dae, raw2, strict=True)]):.2f}",
                f"{to_same:.2f}",
                "met" if to_same >= 0.9 else "missed",
                f"{per_msg_ms / base_ms:.2f}x of {smallest[0]['n']:,}",
                "met" if per_msg_ms <= 1.1 * base_ms else "missed",
                f"{peak:.0f} MB",
                "met" if peak <= 200 else "missed",
            ]
        )
    print(
        table(
            [
                "N",
                "mails sent per message (daemon)",
                "raw bulk fetch msg/s",
                "raw-1rcpt msg/s",
                "raw-2rcpt msg/s",
                "raw-same msg/s",
                "daemon msg/s",
                "daemon s",
                "daemon ms/msg",
                "daemon peak RSS MB",
                "store MB (snapshot + journal)",
            ],
            rows,
            title=f"Drain (median (min–max) of runs; {CONNECTIONS} SMTP connections each; "
            f"ack ≈ {results[0][0]['ack_size']:,} B; backlog loaded by APPEND at "
            f"{fmt_rate(results[0][0]['load_rate'])} msg/s)",
        )
    )
    print(
        table(
            [
                "N",
                "daemon / raw-1rcpt (old goal ≥ 70 %)",
                "daemon / raw-2rcpt",
                "daemon / raw-same",
                "≥ 0.9 of raw-same",
                "daemon ms/msg vs the smallest N",
                "within 10 %",
                "daemon peak RSS",
                "≤ 200 MB",
            ],
            ratio_rows,
            title="Ratio against the baseline measured in the same run",
        )
    )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
