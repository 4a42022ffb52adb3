"""`feedbackd digest --dry-run --html` prints the HTML document alone, so `> digest.html`
opens in a browser; the subject and recipients it would go to are said on stderr."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from daemon import cli
from daemon.adapters.storage.store import Store
from daemon.core.cases import open_case

MSK = ZoneInfo("Europe/Moscow")


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "store.json"
    store = Store(db)
    received = datetime(2026, 11, 17, 10, 0, tzinfo=MSK)
    store.put_case(
        open_case(
            store.next_case_id(2026),
            category="complaint",
            owner="support",
            received=received,
            due=received + timedelta(days=3),
            sender="c@x.test",
            sender_name="C",
            subject="s",
            message_id="<1@x.test>",
            language="en",
            rule="r",
        )
    )
    store.commit()
    monkeypatch.setenv("FEEDBACKD_DB", str(db))
    monkeypatch.delenv("FEEDBACKD_RULES", raising=False)


@pytest.mark.usefixtures("store")
def test_html_dry_run_prints_only_the_html(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["digest", "--now", "2026-11-23T09:00", "--dry-run", "--html"]) == 0
    out, err = capsys.readouterr()
    assert out.lstrip().lower().startswith(("<!doctype html", "<html"))
    assert out.rstrip().endswith("</html>")
    assert "Subject:" not in out and "Would go to" not in out
    assert "Subject: Сводка обратной связи 2026-11-16 – 2026-11-22" in err
    assert "Would go to 1 recipient(s): center@example.test" in err


@pytest.mark.usefixtures("store")
def test_text_dry_run_keeps_its_envelope_above_the_text(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["digest", "--now", "2026-11-23T09:00", "--dry-run"]) == 0
    out, err = capsys.readouterr()
    # in the admin's language: the shipped rules' feedback center writes Russian
    assert out.startswith("Subject: Сводка обратной связи 2026-11-16 – 2026-11-22\nWould go to 1 ")
    assert "\n\nСводка обратной связи 2026-11-16 – 2026-11-22\n" in out and err == ""
