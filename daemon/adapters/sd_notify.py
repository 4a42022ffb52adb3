"""Tell systemd how the daemon is doing: the sd_notify protocol, without a dependency.

The unit is `Type=notify`, so systemd waits for READY=1 before it calls the service started,
shows STATUS= in `systemctl status`, kills and restarts the process when WATCHDOG=1 pings stop
(a hung IMAP session), and marks a SIGHUP rule reload with RELOADING=1 ... READY=1.

The protocol is one datagram per message on the AF_UNIX socket named by $NOTIFY_SOCKET (a path,
or `@name` for the abstract namespace), `KEY=value` lines separated by newlines. That is small
enough to own: libsystemd bindings would add a C dependency for a dozen lines of code.

Notification is a courtesy to the service manager, never a reason to fail: outside systemd
(NOTIFY_SOCKET unset) every method does nothing, and a send error is logged once and ignored.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

log = logging.getLogger("feedbackd.sd_notify")

_SEND_TIMEOUT = 1.0  # seconds; a stuck manager must not stall the mail loop for long


class Notifier:
    """One daemon's line to systemd. Build it with `Notifier.from_env()` at start-up.

    `clock` returns monotonic seconds; it is an argument so that the watchdog rate limit can be
    tested without sleeping.
    """

    def __init__(
        self,
        address: str | None,
        watchdog_usec: int | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._address = _socket_address(address) if address else None
        self._watchdog_usec = watchdog_usec if watchdog_usec and watchdog_usec > 0 else None
        self._clock = clock
        self._sock: socket.socket | None = None
        self._last_ping: float | None = None
        self._warned = False

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> Notifier:
        """Read NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID as systemd sets them.

        WATCHDOG_PID names the process the watchdog is meant for; if it is another process
        (the variables were inherited), this one must not ping.
        """
        env = os.environ if env is None else env
        address = env.get("NOTIFY_SOCKET") or None
        if address and not address.startswith(("/", "@")):
            log.warning(
                "NOTIFY_SOCKET=%s is not a unix socket path or @name; not notifying systemd",
                address,
            )
            address = None
        usec: int | None = None
        raw = env.get("WATCHDOG_USEC", "")
        if raw:
            if raw.isdigit() and int(raw) > 0:
                usec = int(raw)
            else:
                log.warning("WATCHDOG_USEC=%r is not a positive integer; watchdog off", raw)
        pid = env.get("WATCHDOG_PID", "")
        if usec and pid and pid != str(os.getpid()):
            usec = None
        return cls(address, usec, clock=clock)

    @property
    def enabled(self) -> bool:
        """True when there is a service manager to talk to."""
        return self._address is not None

    @property
    def watchdog_interval(self) -> float | None:
        """Seconds after which systemd kills a silent service, or None without a watchdog.

        The loop must call `watchdog()` more often than that; blocking waits (IMAP IDLE)
        should be cut into pieces of at most half of it.
        """
        if self._address is None or self._watchdog_usec is None:
            return None
        return self._watchdog_usec / 1_000_000

    def ready(self, status: str | None = None) -> None:
        """Start-up (or a reload) is complete: settings, rules and templates are loaded."""
        self._send("READY=1", status)

    def status(self, text: str) -> None:
        """A one-line state for `systemctl status`, e.g. "idle; 3 open cases"."""
        self._send(None, text)

    def reloading(self) -> None:
        """A SIGHUP reload has begun; call `ready()` when it ends, whether it worked or not.

        MONOTONIC_USEC (CLOCK_MONOTONIC, microseconds) lets systemd >= 253 tell this reload
        from an earlier one; older versions ignore it.
        """
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        self._send(f"RELOADING=1\nMONOTONIC_USEC={usec}", None)

    def stopping(self) -> None:
        """A clean stop has begun; systemd then waits for the exit instead of pinging."""
        self._send("STOPPING=1", None)

    def watchdog(self) -> None:
        """Tell systemd the loop is alive. Cheap to call often: sends at most every half
        interval."""
        if self._address is None or self._watchdog_usec is None:
            return
        now = self._clock()
        half = self._watchdog_usec / 2_000_000
        if self._last_ping is not None and now - self._last_ping < half:
            return
        self._last_ping = now
        self._send("WATCHDOG=1", None)

    def close(self) -> None:
        """Close the socket; a later notification opens it again."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _send(self, fields: str | None, status: str | None) -> None:
        if self._address is None:
            return
        lines = [fields] if fields else []
        if status is not None:
            lines.append("STATUS=" + _one_line(status))
        payload = "\n".join(lines).encode("utf-8")
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._sock.settimeout(_SEND_TIMEOUT)
            self._sock.sendto(payload, self._address)
        except OSError as exc:
            self.close()
            if not self._warned:
                self._warned = True
                log.warning(
                    "cannot notify systemd at %s: %s (further errors not logged)",
                    _printable(self._address),
                    exc,
                )


def _socket_address(address: str) -> str | bytes:
    """`@name` is Linux's abstract namespace: a leading NUL byte instead of the `@`."""
    if address.startswith("@"):
        return b"\0" + address[1:].encode("utf-8")
    return address


def _printable(address: str | bytes) -> str:
    if isinstance(address, bytes):
        return "@" + address[1:].decode("utf-8", "replace")
    return address


def _one_line(text: str) -> str:
    """A newline in STATUS= would start a new assignment (say READY=1): flatten it."""
    return " ".join(text.splitlines()) if text else ""
