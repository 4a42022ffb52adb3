"""The service on its twins: the shipped rules and templates, a memory mailbox and sender.

The rule book and templates are loaded once per session (compiling rules.yaml is the slow
part); every test gets a fresh store, mailbox and sender.
"""

from __future__ import annotations

import pytest
from support import REPO

from daemon.adapters.config import load_rulebook, load_templates
from daemon.core.mail.compose import Templates
from daemon.core.rules import RuleBook


@pytest.fixture(scope="session")
def book() -> RuleBook:
    return load_rulebook(REPO / "rules.yaml")


@pytest.fixture(scope="session")
def templates() -> Templates:
    return load_templates(REPO / "templates")
