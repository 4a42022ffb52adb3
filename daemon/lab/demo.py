"""`make demo`: the daemon doing its main job on a local mail lab, start to finish.

Starts Dovecot and an SMTP server on loopback, runs `feedbackd run` against them, has customers
write in Russian and English (thanks, a complaint, a formal claim, and an out-of-office robot),
then prints the cases and the acknowledgments found in the customers' mailboxes. Leaves nothing
running and nothing behind.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

from daemon.lab.dovecot import MailLab

FEEDBACK = "feedback@shop.example"
LETTERS = [
    (
        "Анна Петрова <anna@customer.example>",
        "Спасибо за доставку!",
        "Здравствуйте! Хочу поблагодарить курьера Дмитрия: заказ привезли вовремя, всё целое. "
        "Спасибо вам большое, буду заказывать ещё!",
        {},
    ),
    (
        "Brian Cole <brian@customer.example>",
        "Order 5521 arrived broken",
        "Hello, my order #5521 arrived broken and nobody answers the phone. I am very "
        "disappointed. Please sort this out. Thanks in advance, Brian",
        {},
    ),
    (
        "Иван Сидоров <ivan@customer.example>",
        "Претензия по договору № 17/2026",
        "ПРЕТЕНЗИЯ\n\nВ соответствии со ст. 18 Закона РФ «О защите прав потребителей» требую "
        "вернуть уплаченную за товар сумму 15 000 руб. в течение 10 дней с момента получения "
        "настоящей претензии. В противном случае буду вынужден обратиться в суд.\n\nИ. Сидоров",
        {},
    ),
    (
        "Out Of Office <robot@partner.example>",
        "Automatic reply: your message",
        "I am out of the office until Monday.",
        {"Auto-Submitted": "auto-replied"},
    ),
]


def main() -> int:
    with MailLab() as lab, tempfile.TemporaryDirectory(prefix="feedbackd-demo-") as tmp:
        env = dict(os.environ, **lab.env(FEEDBACK, Path(tmp) / "store.json"))
        env.pop("NOTIFY_SOCKET", None)
        print(
            f"mail lab up: Dovecot IMAPS 127.0.0.1:{lab.ports.imaps}, "
            f"SMTP 127.0.0.1:{lab.ports.smtp} (STARTTLS + AUTH)"
        )
        daemon = subprocess.Popen(
            [sys.executable, "-m", "daemon", "run"], env=env, stderr=subprocess.PIPE, text=True
        )
        try:
            time.sleep(1.5)
            print("feedbackd is running and idling on the feedback mailbox\n")
            sent: dict[str, float] = {}
            for i, (sender, subject, body, headers) in enumerate(LETTERS):
                msg = EmailMessage()
                msg["From"], msg["To"], msg["Subject"] = sender, FEEDBACK, subject
                msg["Message-ID"] = f"<demo-{i}@customer.example>"
                for k, v in headers.items():
                    msg[k] = v
                msg.set_content(body)
                address = sender.split("<")[1].rstrip(">")
                lab.send(msg.as_bytes(), address, [FEEDBACK])
                sent[address] = time.monotonic()
                print(f"  -> {sender}: {subject}")
            acks = wait_for_acks(lab, sent, expected=3)
        finally:
            daemon.send_signal(signal.SIGTERM)
            _, log = daemon.communicate(timeout=30)
        listing = subprocess.run(
            [sys.executable, "-m", "daemon", "cases", "list", "--format", "json"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        cases = [json.loads(line) for line in listing.stdout.splitlines()]
        print("\nCases opened:")
        print(f"  {'ID':16} {'CATEGORY':12} {'OWNER':9} {'DUE':11} FROM")
        for c in cases:
            print(
                f"  {c['id']:16} {c['category']:12} {c['owner']:9} {c['due'][:10]:11} {c['sender']}"
            )
        print("\nAcknowledgments in the senders' mailboxes:")
        for address, (subject, seconds) in acks.items():
            print(f"  {address:24} {seconds:4.1f}s  {subject}")
        for address in sent:
            if address not in acks:
                print(f"  {address:24}   --   none (automatic mail is never answered)")
        print(f"\nfeedbackd exited with {daemon.returncode}; the lab is stopped.")
        if daemon.returncode != 0:
            print(log[-3000:], file=sys.stderr)
        return 0 if len(acks) == 3 and daemon.returncode == 0 else 1


def wait_for_acks(
    lab: MailLab, sent: dict[str, float], expected: int
) -> dict[str, tuple[str, float]]:
    acks: dict[str, tuple[str, float]] = {}
    for _ in range(150):  # at most ~15 s
        for address, t0 in sent.items():
            if address in acks:
                continue
            with lab.mailbox(address) as mb:
                msgs = list(mb.fetch(mark_seen=False))
            if msgs:
                acks[address] = (msgs[0].subject, time.monotonic() - t0)
        if len(acks) >= expected:
            time.sleep(1.0)  # give a wrong extra acknowledgment the chance to show up
            if len(acks) >= expected:
                break
        time.sleep(0.1)
    return acks


if __name__ == "__main__":
    raise SystemExit(main())
