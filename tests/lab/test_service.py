"""The service on the lab: systemd notifications in order, SIGHUP reloads, SIGTERM stops.

The daemon is a process of its own; the commands that only read what it did (`cases list`,
`status`, polled while it runs) run in this process (`Desk.cli`), `reload` as a process.
"""

from __future__ import annotations

import json
import signal
import socket
import time
from pathlib import Path

from support import Desk

from daemon.lab.dovecot import free_port


def wait_for(predicate, seconds: float = 15.0, step: float = 0.1) -> bool:  # type: ignore[no-untyped-def]
    for _ in range(int(seconds / step)):
        if predicate():
            return True
        time.sleep(step)
    return False


class Listener:
    """The service manager's end of NOTIFY_SOCKET: collects every datagram."""

    def __init__(self, path: Path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.05)
        self.datagrams: list[str] = []

    def drain(self) -> list[str]:
        while True:
            try:
                self.datagrams.append(self.sock.recv(4096).decode())
            except (TimeoutError, BlockingIOError):
                return self.datagrams

    def seen(self, field: str) -> bool:
        return any(field in d.splitlines() for d in self.drain())


def test_notify_ready_status_watchdog_reloading_stopping_in_order(
    desk: Desk, tmp_path: Path
) -> None:
    listener = Listener(tmp_path / "notify.sock")
    env = dict(desk.env, NOTIFY_SOCKET=str(tmp_path / "notify.sock"), WATCHDOG_USEC="2000000")
    proc = desk.start(env)
    try:
        assert wait_for(lambda: listener.seen("READY=1")), "no READY=1"
        desk.send(desk.customer("notify"), "Спасибо", "Спасибо за помощь!")
        assert wait_for(
            lambda: any(d.startswith("STATUS=") or "\nSTATUS=" in d for d in listener.drain()[1:])
        )
        assert wait_for(lambda: listener.seen("WATCHDOG=1"))
        proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: listener.seen("RELOADING=1"))
        reload_at = max(i for i, d in enumerate(listener.datagrams) if "RELOADING=1" in d)
        assert wait_for(lambda: any("READY=1" in d for d in listener.drain()[reload_at:]))
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        proc.wait(timeout=15)
        assert time.monotonic() - started < 5
    finally:
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate()
    assert proc.returncode == 0, err
    d = listener.drain()
    kinds = [
        (
            "READY"
            if "READY=1" in x
            else "RELOADING"
            if "RELOADING=1" in x
            else "STOPPING"
            if "STOPPING=1" in x
            else "WATCHDOG"
            if "WATCHDOG=1" in x
            else "STATUS"
        )
        for x in d
    ]
    assert kinds[0] == "READY" and kinds[-1] == "STOPPING"
    first_reload = kinds.index("RELOADING")
    assert "WATCHDOG" in kinds[:first_reload] and "STATUS" in kinds[:first_reload]
    assert "READY" in kinds[first_reload:]
    assert any(x.startswith("MONOTONIC_USEC=") for x in d[first_reload].splitlines())


def test_sighup_applies_a_good_change_and_keeps_the_last_good_rules(
    desk: Desk, tmp_path: Path
) -> None:
    rules = desk.rules  # the test's own copy, edited below
    env = desk.env
    proc = desk.start(env)
    customer = desk.customer("hup")

    def category_of_last() -> str:
        out = desk.cli("cases", "list", "--format", "json")
        lines = out.stdout.splitlines()
        return json.loads(lines[-1])["category"] if lines else ""

    try:
        time.sleep(1.5)
        desk.send(customer, "zzqx report", "Something about zzqx widgets.")
        assert wait_for(lambda: category_of_last() == "unclassified")

        text = rules.read_text().replace(
            "rules:\n",
            "rules:\n  - name: zzqx-is-a-complaint\n"
            "    category: complaint\n"
            "    when: {words: [zzqx]}\n",
            1,
        )
        rules.write_text(text)
        proc.send_signal(signal.SIGHUP)
        time.sleep(1.0)
        desk.send(customer, "zzqx again", "More about zzqx widgets.")
        assert wait_for(
            lambda: len(desk.cli("cases", "list", "--format", "json").stdout.splitlines()) == 2
        )
        assert category_of_last() == "complaint"

        rules.write_text(text + "\n  this: is [broken\n")
        proc.send_signal(signal.SIGHUP)
        time.sleep(1.0)
        desk.send(customer, "zzqx third", "Still zzqx.")
        assert wait_for(
            lambda: len(desk.cli("cases", "list", "--format", "json").stdout.splitlines()) == 3
        )
        assert category_of_last() == "complaint"  # the last good rules still run
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert "reload refused" in err and "rules.yaml" in err
    assert proc.returncode == 0


def status_texts(listener: Listener) -> list[str]:
    return [
        line[len("STATUS=") :]
        for d in listener.drain()
        for line in d.splitlines()
        if line.startswith("STATUS=")
    ]


def test_ready_while_the_mail_server_is_down_and_the_outage_is_reported(
    desk: Desk, tmp_path: Path
) -> None:
    """A mail outage at boot: READY=1 as soon as settings, rules and store are loaded, so
    systemd's start does not time out; the outage shows in STATUS=, `status` and an alert."""
    center = desk.customer("center")
    desk.rules.write_text(desk.rules.read_text().replace("center@example.test", center))
    listener = Listener(tmp_path / "notify.sock")
    env = dict(desk.env, NOTIFY_SOCKET=str(tmp_path / "notify.sock"))
    env["FEEDBACKD_IMAP_PORT"] = str(free_port())  # nobody listens there
    proc = desk.start(env)
    try:
        assert wait_for(lambda: listener.seen("READY=1"), seconds=10), "no READY=1 while IMAP down"
        assert wait_for(
            lambda: any("mail server unreachable, 3 failed" in t for t in status_texts(listener)),
            seconds=20,
        ), status_texts(listener)
        health = json.loads(desk.cli("status", "--format", "json", env=env).stdout)
        assert health["poll"]["consecutive_failures"] >= 3
        assert any("failed polls in a row" in p for p in health["problems"])
        assert wait_for(lambda: bool(desk.messages(center)))
        assert [m.subject for m in desk.messages(center)] == ["feedbackd alert: polls"]
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err


def test_reload_command_returns_after_the_reload_and_fails_when_refused(
    desk: Desk, tmp_path: Path
) -> None:
    """`feedbackd reload` is the units' ExecReload=: no /bin/kill, and `systemctl reload`
    gets the reload's own result (0, or 78 with the problems) once it is done."""
    listener = Listener(tmp_path / "notify.sock")
    env = dict(desk.env, NOTIFY_SOCKET=str(tmp_path / "notify.sock"))
    proc = desk.start(env)
    try:
        assert wait_for(lambda: listener.seen("READY=1"))
        done = desk.feedbackd("reload", "--pid", str(proc.pid), timeout=30)
        assert done.returncode == 0, done.stderr
        assert any("RELOADING=1" in d for d in listener.drain())  # the daemon got the signal

        desk.rules.write_text(desk.rules.read_text() + "\n  this: is [broken\n")
        refused = desk.feedbackd("reload", timeout=30)  # the pid from the store lock
        assert refused.returncode == 78, refused.stderr
        assert "reload refused" in refused.stderr and "rules.yaml" in refused.stderr
        assert any("reload refused" in t for t in status_texts(listener))
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
