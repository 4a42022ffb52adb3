"""Log lines: journal priorities, timestamps, one line per event, case numbers, redaction."""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
from support import REPO

from daemon.adapters import logs
from daemon.errors import EX_CONFIG, ConfigError

STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d"


@pytest.fixture(autouse=True)
def restore_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """setup_logging changes process-wide state; put it back after each test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)
    logs.forget_secrets()


def setup(level: str = "debug", journal: bool = False) -> io.StringIO:
    out = io.StringIO()
    logs.setup_logging(level, stream=out, journal=journal)
    return out


def emit_all_levels() -> None:
    log = logging.getLogger("daemon.loop")
    log.debug("d")
    log.info("i")
    log.warning("w")
    log.error("e")


def test_journal_lines_carry_syslog_priority_and_no_timestamp() -> None:
    out = setup(journal=True)
    emit_all_levels()
    assert out.getvalue().splitlines() == [
        "<7>daemon.loop: d",
        "<6>daemon.loop: i",
        "<4>daemon.loop: w",
        "<3>daemon.loop: e",
    ]


def test_plain_lines_start_with_a_timestamp_and_level() -> None:
    out = setup(journal=False)
    emit_all_levels()
    lines = out.getvalue().splitlines()
    assert len(lines) == 4
    for line, level, msg in zip(lines, ["DEBUG", "INFO", "WARNING", "ERROR"], "diwe", strict=True):
        assert re.fullmatch(rf"{STAMP} {level} daemon\.loop: {msg}", line), line


def test_level_filters_and_bad_level_is_a_config_error() -> None:
    out = setup("warning", journal=True)
    emit_all_levels()
    assert out.getvalue().splitlines() == ["<4>daemon.loop: w", "<3>daemon.loop: e"]
    assert logs.parse_level("INFO") == logging.INFO
    with pytest.raises(ConfigError) as err:
        logs.parse_level("verbose")
    assert err.value.exit_code == EX_CONFIG
    assert "verbose" in str(err.value)


def test_journal_is_detected_only_when_journal_stream_names_this_stream(tmp_path) -> None:
    with open(tmp_path / "stderr", "w", encoding="utf-8") as stream:
        st = os.fstat(stream.fileno())
        assert logs.is_journal(stream, {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"})
        assert not logs.is_journal(stream, {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino + 1}"})
        assert not logs.is_journal(stream, {"JOURNAL_STREAM": "garbage"})
        assert not logs.is_journal(stream, {})
    assert not logs.is_journal(io.StringIO(), {"JOURNAL_STREAM": "1:2"})


def test_a_process_under_systemd_writes_priorities_to_its_stderr(tmp_path) -> None:
    """The real default path: stderr of a fresh process, JOURNAL_STREAM as systemd sets it."""
    code = (
        "import logging; from daemon.adapters.logs import setup_logging; setup_logging('info');"
        "logging.getLogger('daemon').warning('up')"
    )
    results = []
    for journal in (True, False):
        path = tmp_path / f"stderr-{journal}"
        with open(path, "w", encoding="utf-8") as err:
            st = os.fstat(err.fileno())
            env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
            if journal:
                env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
            subprocess.run(
                [sys.executable, "-c", code], cwd=REPO, env=env, stderr=err, check=True, timeout=30
            )
        results.append(path.read_text(encoding="utf-8"))
    assert results[0] == "<4>daemon: up\n"
    assert re.fullmatch(rf"{STAMP} WARNING daemon: up\n", results[1])


def test_one_line_per_event_whatever_the_message_holds() -> None:
    out = setup(journal=True)
    log = logging.getLogger("daemon.mailbox")
    log.info("subject: %s", "line one\nline two\r\nfake: <3>daemon: forged\u2028x\x1b[31mred")
    log.info("second")
    lines = out.getvalue().splitlines()
    assert lines == [
        (
            "<6>daemon.mailbox: subject: line one\\nline two\\r\\nfake: <3>daemon: forged"
            "\\u2028x\\x1b[31mred"
        ),
        "<6>daemon.mailbox: second",
    ]


def test_case_id_appears_in_brackets() -> None:
    out = setup(journal=True)
    log = logging.getLogger("daemon.cases")
    log.info("opened", extra={"case": "FB-2026-000001"})
    logs.case_log(log, "FB-2026-000002").warning("reminder %d sent", 2)
    log.info("no case")
    assert out.getvalue().splitlines() == [
        "<6>daemon.cases: [FB-2026-000001] opened",
        "<4>daemon.cases: [FB-2026-000002] reminder 2 sent",
        "<6>daemon.cases: no case",
    ]


def connect(password: str) -> None:
    raise ConnectionError(f"login refused for password {password!r}")  # 'S3cret-pa55' leaks


def test_secrets_are_redacted_in_messages_and_tracebacks() -> None:
    secret = "S3cret-pa55"
    logs.register_secret(secret)
    out = setup(journal=False)
    log = logging.getLogger("daemon.imap")
    log.info("using %s", secret)
    try:
        connect(secret)
    except ConnectionError:
        log.exception("IMAP login failed", extra={"case": "FB-2026-000003"})
    text = out.getvalue()
    lines = text.splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("daemon.imap: using ***")
    assert "[FB-2026-000003] IMAP login failed\\nTraceback (most recent call last):" in lines[1]
    # The traceback quotes the source line (with the literal) and the exception message.
    assert "# '***' leaks" in lines[1]
    assert "ConnectionError: login refused for password '***'" in lines[1]
    assert secret not in text


def test_a_secret_is_redacted_in_its_escaped_repr_form_too() -> None:
    secret = "it's\\tricky\n"
    logs.register_secret(secret)
    out = setup(journal=True)
    try:
        raise RuntimeError(repr(secret))
    except RuntimeError:
        logging.getLogger("daemon").exception("boom")
    line = out.getvalue()
    assert line.count("\n") == 1
    assert 'RuntimeError: "***"' in line
    assert "tricky" not in line


def test_uncaught_exceptions_become_one_redacted_critical_line() -> None:
    logs.register_secret("hunter2")
    out = setup(journal=True)
    try:
        raise ValueError("token hunter2")
    except ValueError as exc:
        sys.excepthook(type(exc), exc, exc.__traceback__)
    t = threading.Thread(target=lambda: connect("hunter2"), name="worker")
    t.start()
    t.join()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("<2>feedbackd: uncaught exception\\nTraceback")
    assert lines[0].endswith("ValueError: token ***")
    assert lines[1].startswith("<2>feedbackd: uncaught exception in thread worker\\n")
    assert "hunter2" not in out.getvalue()


def test_setup_twice_keeps_one_handler() -> None:
    setup()
    out = setup(journal=True)
    logging.getLogger("daemon").info("once")
    assert out.getvalue() == "<6>daemon: once\n"
    assert sum(h.get_name() == "feedbackd" for h in logging.getLogger().handlers) == 1
