"""Fixtures of the integration tests: one mail lab per flavour and session, a fresh mailbox per
test.

Everything under tests/lab/ is marked `lab`, so `pytest -m "not lab"` is the quick run anywhere
and the lab fixtures are visible to no test outside this folder. `lab` and `desk` are today's
Dovecot; a test that takes `flavoured_desk` runs once on every flavour of
daemon.lab.dovecot.FLAVOURS — the server layouts, and Debian's Postfix as the submission server
— (each its own Dovecot, and Postfix, started when first asked for and stopped at the end of the
session), so the mail flow is proven on each without copies of the tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support import Desk, started_lab

from daemon.lab import MailLab
from daemon.lab.dovecot import FLAVOURS

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.lab)


class Labs:
    """The labs of this session, one per flavour, each started on first use."""

    def __init__(self) -> None:
        self.running: dict[str, MailLab] = {}

    def __getitem__(self, flavour: str) -> MailLab:
        if flavour not in self.running:
            self.running[flavour] = started_lab(flavour)
        return self.running[flavour]

    def stop(self) -> None:
        for mail_lab in self.running.values():
            mail_lab.stop()


@pytest.fixture(scope="session")
def labs() -> Iterator[Labs]:
    every = Labs()
    yield every
    every.stop()


@pytest.fixture(scope="session")
def lab(labs: Labs) -> MailLab:
    return labs["dovecot"]


@pytest.fixture
def desk(lab: MailLab, tmp_path: Path) -> Desk:
    return Desk(lab, tmp_path)


@pytest.fixture(params=sorted(FLAVOURS))
def flavoured_desk(request: pytest.FixtureRequest, labs: Labs, tmp_path: Path) -> Desk:
    return Desk(labs[request.param], tmp_path)
