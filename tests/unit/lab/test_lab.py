"""The mail lab's own guarantees that hold without Dovecot: what it exports, how it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

import daemon.lab
from daemon.errors import FeedbackdError
from daemon.lab import LabUnavailable, MailLab, dovecot, postfix


def test_the_lab_package_exports_the_lab_and_its_one_error() -> None:
    assert sorted(daemon.lab.__all__) == ["LabUnavailable", "MailLab"]
    assert issubclass(LabUnavailable, FeedbackdError)


def test_a_missing_dovecot_is_reported_as_lab_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dovecot, "DOVECOT", str(tmp_path / "no-dovecot"))
    lab = MailLab(tmp_path / "lab")
    with pytest.raises(LabUnavailable, match="dovecot is not installed"):
        lab.start()
    assert not (tmp_path / "lab").exists()  # refused before anything was set up


def test_a_missing_postfix_is_reported_as_lab_unavailable_before_anything_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LabUnavailable is what turns into a failure under CI=true (tests/support.py)."""
    monkeypatch.setattr(postfix, "POSTFIX", str(tmp_path / "no-postfix"))
    lab = MailLab(tmp_path / "lab", flavour="postfix")
    with pytest.raises(LabUnavailable, match="postfix is not installed"):
        lab.start()
    assert not (tmp_path / "lab").exists()
