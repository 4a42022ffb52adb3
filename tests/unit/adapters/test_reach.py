"""Reaching a server before speaking to it: names under .invalid never leave the machine."""

from __future__ import annotations

import socket

import pytest

from daemon.adapters.mail import reach
from daemon.adapters.mail.reach import Unreachable, connect, resolve
from daemon.core.doctor import Reach


def test_a_name_under_invalid_is_not_found_without_asking_the_resolver(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_lookups(*args: object, **kwargs: object) -> object:
        raise AssertionError("the resolver was asked")

    monkeypatch.setattr(reach.socket, "getaddrinfo", no_lookups)
    for name in ("imap.example.invalid", "INVALID", "mail.invalid."):
        with pytest.raises(Unreachable) as err:
            resolve(name, 993)
        assert err.value.reach is Reach.NO_NAME


def test_a_closed_port_is_refused() -> None:
    with socket.socket() as s:  # bound, never listening: nothing accepts on it
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        with pytest.raises(Unreachable) as err:
            connect(resolve("127.0.0.1", port), port, 2.0)
    assert err.value.reach is Reach.REFUSED
