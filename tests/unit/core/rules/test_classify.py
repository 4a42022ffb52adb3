"""`feedbackd classify` and the default rules on the labelled e-mails in tests/data/feedback."""

import io
import json
from collections import Counter

from support import REPO

from daemon.adapters.config import load_rulebook
from daemon.cli.check import classify_command
from daemon.core.mail.message import parse
from daemon.core.rules import classify

MAILS = sorted((REPO / "tests" / "data" / "feedback").glob("*.eml"))
RULES = str(REPO / "rules.yaml")


def test_json_is_one_object_per_file_with_the_agreed_keys():
    files = [str(MAILS[0]), str(MAILS[-1])]
    out = io.StringIO()
    assert classify_command(files, RULES, "json", out) == 0
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["file"] for r in rows] == files
    assert all(set(r) == {"file", "category", "rule", "reasons", "acknowledgment"} for r in rows)
    assert all(
        set(r["acknowledgment"]) == {"acknowledge", "kind", "reasons", "reply_to"} for r in rows
    )


def test_text_format_says_rule_and_matched_text():
    mail = REPO / "tests/data/feedback/official__ru-pretenziya-dogovor.eml"
    out = io.StringIO()
    classify_command([str(mail)], RULES, "text", out)
    assert "official (rule official-law-ru" in out.getvalue()


def test_unreadable_file_is_reported_and_exit_is_1(tmp_path):
    out = io.StringIO()
    assert classify_command([str(tmp_path / "missing.eml")], RULES, "json", out) == 1
    assert json.loads(out.getvalue())["error"]


def test_labelled_set_is_big_and_balanced_enough():
    counts = Counter(p.name.split("__")[0] for p in MAILS)
    assert len(MAILS) >= 60
    assert set(counts) == {"official", "complaint", "thanks", "unclassified"}
    assert min(counts.values()) >= 10


def test_default_rules_reach_90_percent_on_the_labelled_emails():
    book = load_rulebook(RULES)
    wrong = [
        p.name
        for p in MAILS
        if classify(parse(p.read_bytes()), book).category != p.name.split("__")[0]
    ]
    assert len(wrong) <= len(MAILS) // 10, wrong


def test_same_message_same_decision():
    book = load_rulebook(RULES)
    msg = parse(MAILS[0].read_bytes())
    assert classify(msg, book) == classify(msg, book)


def test_default_rules_generalise_to_mail_written_blind():
    """tests/data/feedback-heldout: 60 e-mails written without reading the rules and never used
    to change them (88.3 % when they were added). Guards against rules that only fit the
    labelled set; do not tune the rules on these files."""
    held = sorted((REPO / "tests" / "data" / "feedback-heldout").glob("*.eml"))
    assert len(held) >= 60
    book = load_rulebook(RULES)
    right = sum(
        classify(parse(p.read_bytes()), book).category == p.name.split("__")[0] for p in held
    )
    assert right >= 0.85 * len(held), f"{right}/{len(held)}"
