"""The `examples:` section of rules.yaml: test messages written beside the rules, with lines.

An admin who changes a rule should see at once which known messages now land elsewhere, so
examples are part of the rule book. Here they are only read and checked for shape; running
them through `classify` is `selftest`'s job, after the whole book is built.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from daemon.core.mail.message import Attachment, Message, make_message
from daemon.core.rules.model import Example
from daemon.core.rules.yamlsrc import Map, Report, check_keys, expect_map, expect_seq, str_list

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


def parse_examples(report: Report, node: Any, line: int) -> list[Example]:
    """Every well-formed example; a located problem for each one that is not."""
    if node is None:
        return []
    seq = expect_seq(report, node, line, "examples")
    out = []
    for item, item_line in zip(seq or [], getattr(seq, "lines", []), strict=False):
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
    return mimetypes.guess_type(name)[0] or "application/octet-stream"
