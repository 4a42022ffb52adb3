"""Fixtures of the integration tests: one mail lab per session, a fresh mailbox per test.

Everything under tests/lab/ is marked `lab`, so `pytest -m "not lab"` is the quick run anywhere
and the lab fixtures are visible to no test outside this folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support import Desk, started_lab

from daemon.lab import MailLab

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.lab)


@pytest.fixture(scope="session")
def lab() -> Iterator[MailLab]:
    mail_lab = started_lab()
    yield mail_lab
    mail_lab.stop()


@pytest.fixture
def desk(lab: MailLab, tmp_path: Path) -> Desk:
    return Desk(lab, tmp_path)
