"""NAMESPACE and LIST answers as imaplib hands them back, from the servers people run."""

from __future__ import annotations

from daemon.adapters.mail.folders import Listed, lines, parse_list, parse_namespace

SENT_RU = "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-"  # "Отправленные" in modified UTF-7


def test_namespace_of_dovecot_courier_cyrus_exchange_and_a_flat_server() -> None:
    assert parse_namespace([b'(("" "/")) NIL NIL']) == ("", "/")
    assert parse_namespace([b'(("INBOX." ".")) NIL (("#shared." "."))']) == ("INBOX.", ".")
    assert parse_namespace([b'(("INBOX." ".")) (("user." ".")) (("" "."))']) == ("INBOX.", ".")
    assert parse_namespace([b'(("" "|")("#mh/" "/")) NIL NIL']) == ("", "|")
    assert parse_namespace([b'(("" NIL)) NIL NIL']) == ("", None)
    assert parse_namespace([b"NIL NIL NIL"]) is None
    assert parse_namespace([b'(("a\\\\b\\"" ".")) NIL NIL']) == ('a\\b"', ".")


def test_list_reads_flags_separators_and_names_in_every_spelling() -> None:
    data: list[bytes | tuple[bytes, bytes] | None] = [
        b'(\\HasNoChildren) "/" INBOX',
        b'(\\HasNoChildren \\Sent) "/" "[Gmail]/Sent Mail"',
        b'(\\HasNoChildren \\Sent) "|" ' + SENT_RU.encode(),
        (b'(\\HasNoChildren) "." {20}', b'INBOX.Odd "quoted" x'),
        b"",
        b"(\\Noselect) NIL Flat",
        None,
    ]
    assert parse_list(data) == [
        Listed("INBOX", "/", frozenset({"\\HasNoChildren"})),
        Listed("[Gmail]/Sent Mail", "/", frozenset({"\\HasNoChildren", "\\Sent"})),
        Listed("Отправленные", "|", frozenset({"\\HasNoChildren", "\\Sent"})),
        Listed('INBOX.Odd "quoted" x', ".", frozenset({"\\HasNoChildren"})),
        Listed("Flat", None, frozenset({"\\Noselect"})),
    ]


def test_a_line_with_two_literals_stays_one_line() -> None:
    data: list[bytes | tuple[bytes, bytes] | None] = [
        (b"(\\Sent) {1}", b"."),
        (b" {4}", b"Sent"),
        b"",
    ]
    assert lines(data) == [[["\\Sent"], b".", b"Sent"]]
