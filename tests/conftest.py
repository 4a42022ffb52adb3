"""The suite's layout: tests/unit (pure core, adapters on files, CLI; no servers, no root),
tests/corpus (real-world mail from ../shared/corpus) and tests/lab (real Dovecot + SMTP on
loopback). Shared helpers live in `support.py`; the lab fixtures in tests/lab/conftest.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if CORPUS_DIR in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.corpus)
