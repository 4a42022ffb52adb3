"""Test messages written inside rules.yaml (`examples:`), and running them.

An admin who changes a rule should see at once which known messages now land elsewhere;
`feedbackd check` runs every example through the same `classify` the daemon uses.
"""

from __future__ import annotations

from typing import Any

from daemon.core.mail.message import Attachment, Message, detect_language
from daemon.core.rules.model import Example, RuleBook
from daemon.core.rules.yamlsrc import Map, Report, check_keys, expect_map, expect_seq, str_list
from daemon.errors import Problem

EXAMPLE_KEYS = (
    "from",
    "from_name",
    "to",
    "cc",
    "subject",
    "body",
    "headers",
    "attachments",
    "language",
    "expect",
    "rule",
)


def make_message(
    subject: str = "",
    body: str = "",
    from_addr: str = "customer@example.org",
    from_name: str = "",
    to: tuple[str, ...] = ("feedback@example.test",),
    cc: tuple[str, ...] = (),
    headers: dict[str, tuple[str, ...]] | None = None,
    attachments: tuple[Attachment, ...] = (),
    language: str | None = None,
) -> Message:
    """A Message built from plain fields (examples, tests, benchmarks) — no MIME needed."""
    return Message(
        message_id="<example@feedbackd>",
        from_addr=from_addr.lower(),
        from_name=from_name,
        to=tuple(a.lower() for a in to),
        cc=tuple(a.lower() for a in cc),
        reply_to=(),
        subject=subject,
        text=body,
        date=None,
        in_reply_to="",
        references=(),
        return_path=None,
        content_type="text/plain",
        headers={k.lower(): v for k, v in (headers or {}).items()},
        attachments=attachments,
        language=language or detect_language(subject + "\n" + body[:5000]),
        size=len(subject) + len(body),
    )


def parse_examples(report: Report, node: Any, line: int) -> list[Example]:
    if node is None:
        return []
    seq = expect_seq(report, node, line, "examples")
    out = []
    for item, item_line in zip(seq or [], getattr(seq, "lines", [])):
        m = expect_map(report, item, item_line, "an example")
        if m is None:
            continue
        check_keys(report, m, EXAMPLE_KEYS, "an example")
        if not isinstance(m.get("expect"), str):
            report.add(m.line, "every example needs 'expect: <category>'")
            continue
        if not m.get("subject") and not m.get("body"):
            report.add(m.line, "an example needs a 'subject:' or a 'body:'")
            continue
        out.append(Example(_message(report, m), m["expect"], m.get("rule"), m.line))
    return out


def _message(report: Report, m: Map) -> Message:
    headers: dict[str, tuple[str, ...]] = {}
    if (
        "headers" in m
        and (hm := expect_map(report, m["headers"], m.line_of("headers"), "headers")) is not None
    ):
        headers = {str(k): (str(v),) for k, v in hm.items()}
    attachments = tuple(
        Attachment(name, _guess_type(name), 0)
        for name, _ in str_list(
            report, m.get("attachments", []), m.line_of("attachments"), "attachments"
        )
    )
    lang = m.get("language")
    return make_message(
        subject=str(m.get("subject", "")),
        body=str(m.get("body", "")),
        from_addr=str(m.get("from", "customer@example.org")),
        from_name=str(m.get("from_name", "")),
        to=tuple(
            a
            for a, _ in str_list(
                report, m.get("to", ["feedback@example.test"]), m.line_of("to"), "to"
            )
        ),
        cc=tuple(a for a, _ in str_list(report, m.get("cc", []), m.line_of("cc"), "cc")),
        headers=headers,
        attachments=attachments,
        language=str(lang) if lang else None,
    )


def _guess_type(name: str) -> str:
    import mimetypes

    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def run_examples(book: RuleBook) -> list[Problem]:
    """One problem per example whose category (or rule) differs from what it expects."""
    from daemon.core.rules import classify

    problems = []
    for ex in book.examples:
        got = classify(ex.message, book)
        if got.category != ex.expect or (ex.expect_rule and got.rule != ex.expect_rule):
            why = "; ".join(f"{r.field} {r.matcher} '{r.matched}'" for r in got.reasons)
            problems.append(
                Problem(
                    book.source,
                    ex.line,
                    (
                        f"example '{ex.message.subject or ex.message.text[:40]}' expects "
                        f"{ex.expect}{' by ' + ex.expect_rule if ex.expect_rule else ''} but got "
                        f"{got.category} by rule '{got.rule}'{' (' + why + ')' if why else ''}; "
                        f"adjust the rules or the example"
                    ),
                )
            )
    return problems
