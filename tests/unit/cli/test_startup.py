"""The command line starts without the libraries only some commands use: Jinja (templates),
holidays (the working-day calendar) and tqdm (a progress bar on a terminal) are imported by
the code that needs them, so `feedbackd --help`, `cases list` and the like do not pay for them
(every CLI run paid ~50 ms for them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support import REPO

LAZY = ("jinja2", "holidays", "tqdm")


def test_the_cli_imports_none_of_the_libraries_few_commands_need() -> None:
    code = f"import sys, daemon.cli; print(*[m for m in {LAZY!r} if m in sys.modules])"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == []


def test_the_commands_that_need_them_still_find_them(tmp_path: Path) -> None:
    from daemon.core.mail.compose import Templates

    templates = Templates({"ack.en.j2": "Subject: {{ case_id }}\n\nhello"}, str(tmp_path))
    assert templates.render("ack", "en", {"case_id": "FB-1"}).subject == "FB-1"
