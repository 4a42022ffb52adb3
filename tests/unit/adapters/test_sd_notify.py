"""The sd_notify client against a real AF_UNIX datagram socket standing in for systemd.

Each test binds the socket systemd would own, points NOTIFY_SOCKET at it and checks the exact
datagrams, so a typo in a field name (READY=1, WATCHDOG=1, ...) fails here and not in
production. The end-to-end run of the daemon under such a socket lives with the daemon's tests.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.adapters.sd_notify import Notifier


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def manager() -> Iterator[tuple[socket.socket, str]]:
    """A bound datagram socket in a short temp dir (unix socket paths max out at 107 bytes)."""
    with tempfile.TemporaryDirectory(prefix="fbn-") as tmp:
        path = str(Path(tmp) / "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.settimeout(2.0)
        try:
            yield sock, path
        finally:
            sock.close()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def received(sock: socket.socket) -> list[bytes]:
    """Every datagram waiting on `sock`, without blocking."""
    out = []
    sock.setblocking(False)
    try:
        while True:
            out.append(sock.recv(4096))
    except BlockingIOError:
        pass
    finally:
        sock.settimeout(2.0)
    return out


def test_ready_status_stopping_exact_datagrams(manager, clean_env) -> None:
    sock, path = manager
    clean_env.setenv("NOTIFY_SOCKET", path)
    n = Notifier.from_env()
    assert n.enabled
    n.ready("loaded 12 rules")
    assert sock.recv(4096) == b"READY=1\nSTATUS=loaded 12 rules"
    n.ready()
    assert sock.recv(4096) == b"READY=1"
    n.status("idle; 3 open cases")
    assert sock.recv(4096) == b"STATUS=idle; 3 open cases"
    n.stopping()
    assert sock.recv(4096) == b"STOPPING=1"
    assert received(sock) == []


def test_status_cannot_smuggle_a_second_assignment(manager, clean_env) -> None:
    sock, path = manager
    clean_env.setenv("NOTIFY_SOCKET", path)
    Notifier.from_env().status("subject: hi\nREADY=1\r\nSTOPPING=1")
    assert sock.recv(4096) == b"STATUS=subject: hi READY=1 STOPPING=1"


def test_reloading_carries_monotonic_usec(manager, clean_env) -> None:
    sock, path = manager
    clean_env.setenv("NOTIFY_SOCKET", path)
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    Notifier.from_env().reloading()
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    m = re.fullmatch(rb"RELOADING=1\nMONOTONIC_USEC=(\d+)", sock.recv(4096))
    assert m, "reloading() must send RELOADING=1 and MONOTONIC_USEC="
    assert before <= int(m.group(1)) <= after


def test_watchdog_is_rate_limited_to_half_the_interval(manager, clean_env) -> None:
    sock, path = manager
    clean_env.setenv("NOTIFY_SOCKET", path)
    clean_env.setenv("WATCHDOG_USEC", "10000000")  # 10 s
    clock = FakeClock()
    n = Notifier.from_env(clock=clock)
    assert n.watchdog_interval == 10.0
    n.watchdog()
    assert received(sock) == [b"WATCHDOG=1"]
    clock.now += 4.9
    n.watchdog()
    n.watchdog()
    assert received(sock) == []
    clock.now += 0.1  # 5 s after the first ping: half the interval
    n.watchdog()
    assert received(sock) == [b"WATCHDOG=1"]
    clock.now += 60
    n.watchdog()
    assert received(sock) == [b"WATCHDOG=1"]


def test_watchdog_is_a_no_op_without_watchdog_usec(manager, clean_env) -> None:
    sock, path = manager
    clean_env.setenv("NOTIFY_SOCKET", path)
    n = Notifier.from_env()
    assert n.watchdog_interval is None
    n.watchdog()
    n.ready()
    assert received(sock) == [b"READY=1"]


def test_watchdog_pid_of_another_process_disables_the_watchdog(manager, clean_env) -> None:
    sock, path = manager
    clean_env.setenv("NOTIFY_SOCKET", path)
    clean_env.setenv("WATCHDOG_USEC", "2000000")
    clean_env.setenv("WATCHDOG_PID", str(os.getpid() + 1))
    other = Notifier.from_env()
    assert other.watchdog_interval is None
    other.watchdog()
    assert received(sock) == []
    clean_env.setenv("WATCHDOG_PID", str(os.getpid()))
    mine = Notifier.from_env()
    assert mine.watchdog_interval == 2.0
    mine.watchdog()
    assert received(sock) == [b"WATCHDOG=1"]


def test_abstract_socket_name(clean_env) -> None:
    name = f"feedbackd-test-{os.getpid()}-{time.monotonic_ns()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        sock.settimeout(2.0)
        clean_env.setenv("NOTIFY_SOCKET", "@" + name)
        Notifier.from_env().ready("up")
        assert sock.recv(4096) == b"READY=1\nSTATUS=up"


def test_everything_is_a_no_op_without_notify_socket(manager, clean_env) -> None:
    sock, _path = manager
    clean_env.setenv("WATCHDOG_USEC", "1000000")
    n = Notifier.from_env()
    assert not n.enabled
    assert n.watchdog_interval is None
    n.ready("x")
    n.status("x")
    n.reloading()
    n.watchdog()
    n.stopping()
    n.close()
    assert received(sock) == []


def test_send_errors_never_raise_and_are_logged_once(clean_env, tmp_path, caplog) -> None:
    clean_env.setenv("NOTIFY_SOCKET", str(tmp_path / "nobody-listens"))
    clean_env.setenv("WATCHDOG_USEC", "1000000")
    n = Notifier.from_env()
    with caplog.at_level(logging.WARNING, logger="feedbackd.sd_notify"):
        n.ready("x")
        n.status("y")
        n.watchdog()
        n.stopping()
    warnings = [r for r in caplog.records if r.name == "feedbackd.sd_notify"]
    assert len(warnings) == 1
    assert "cannot notify systemd" in warnings[0].getMessage()


def test_a_socket_that_is_not_unix_is_ignored(clean_env, caplog) -> None:
    clean_env.setenv("NOTIFY_SOCKET", "vsock:2:1234")
    with caplog.at_level(logging.WARNING, logger="feedbackd.sd_notify"):
        n = Notifier.from_env()
    assert not n.enabled
    n.ready()
    assert "NOTIFY_SOCKET" in caplog.text
