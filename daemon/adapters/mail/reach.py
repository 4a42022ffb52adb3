"""Can a mail server be reached at all: its name resolved, its port connected.

`feedbackd doctor` asks these before the IMAP and SMTP adapters speak a word, so that a typo in
a host name, a closed port and a dropping firewall each get their own line instead of one
"unreachable". Names under `.invalid` (RFC 6761 6.4) are answered as not found at once, as the
RFC asks of resolution libraries: no query for them leaves this machine.
"""

from __future__ import annotations

import socket

from daemon.core.doctor import Reach
from daemon.errors import TransientError


class Unreachable(TransientError):
    """The server's name or port could not be reached; `reach` says which way."""

    def __init__(self, reach: Reach, detail: str):
        super().__init__(detail)
        self.reach = reach
        self.detail = detail


def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, in the resolver's order; Unreachable(NO_NAME)."""
    name = host.rstrip(".").lower()
    if name == "invalid" or name.endswith(".invalid"):
        raise Unreachable(Reach.NO_NAME, "a name under .invalid never exists, RFC 6761")
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise Unreachable(Reach.NO_NAME, exc.strerror or str(exc)) from None
    return list(dict.fromkeys(str(info[4][0]) for info in found))


def connect(addresses: list[str], port: int, timeout: float) -> str:
    """The first address that takes a TCP connection on `port` (closed again at once)."""
    failure = Unreachable(Reach.OTHER, "no address")
    for address in addresses:
        try:
            with socket.create_connection((address, port), timeout=timeout):
                return address
        except ConnectionRefusedError as exc:
            failure = Unreachable(Reach.REFUSED, exc.strerror or str(exc))
        except TimeoutError:
            failure = Unreachable(Reach.TIMEOUT, "timed out")
        except OSError as exc:
            failure = Unreachable(Reach.OTHER, exc.strerror or str(exc))
    raise failure
