"""The server's folder layout, read off the wire: NAMESPACE (RFC 2342) and LIST (RFC 6154).

The IMAP adapter asks once per connection; this module turns the answers imaplib hands back
into a `core.folders.Layout`. The answers are IMAP data, not lines of text: quoted strings with
backslash escapes, NIL, parenthesised lists, and literals (`{12}` followed by the bytes, which
imaplib delivers as a (line, bytes) pair and the rest of the line as the next item). Folder
names come in modified UTF-7 (RFC 3501 5.1.3): imap-tools' `utf7_decode` turns them into text,
as its own `folder.list()` does; that method is not used here because it reads the separator
and the flags with a regular expression that a NIL separator or a literal name defeats.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from imap_tools.imap_utf7 import utf7_decode

from daemon.core.folders import Layout, Role, personal_layout

#: One element of an imaplib answer: a line, or a (line, literal) pair.
Item = bytes | tuple[bytes, bytes]
#: An IMAP value: an atom or string, NIL, a literal's bytes, or a parenthesised list of them.
Value = str | bytes | None | list["Value"]

_TOKEN = re.compile(rb'\s*(?:(\()|(\))|"((?:[^"\\]|\\.)*)"|([^\s()"]+))')
_LITERAL = re.compile(rb"\{(\d+)\+?\}$")


@dataclass(frozen=True)
class Listed:
    """One LIST answer: the server's name (decoded), its separator, its attributes."""

    name: str
    separator: str | None
    flags: frozenset[str]


def lines(data: Sequence[Item | None]) -> list[list[Value]]:
    """imaplib's untagged data as one list of values per response line."""
    out: list[list[Value]] = []
    continued = False
    for item in data:
        if isinstance(item, tuple):
            head, literal = item
            match = _LITERAL.search(head)
            tokens = [*_values(head[: match.start()] if match else head), literal]
            if continued:
                out[-1].extend(tokens)
            else:
                out.append(tokens)
            continued = True
        elif isinstance(item, bytes):
            if continued:
                out[-1].extend(_values(item))
            elif item:
                out.append(_values(item))
            continued = False
    return [_nest(iter(line)) for line in out]


def parse_namespace(data: Sequence[Item | None]) -> tuple[str | None, str | None] | None:
    """The first personal namespace's (prefix, separator), decoded; None if there is none."""
    for line in lines(data):
        personal = line[0] if line else None
        if isinstance(personal, list) and personal and isinstance(personal[0], list):
            first = personal[0]
            if len(first) >= 2:
                return _text(first[0]), _text(first[1])
    return None


def parse_list(data: Sequence[Item | None]) -> list[Listed]:
    """Every `(flags) separator name` of a LIST answer."""
    found = []
    for line in lines(data):
        if len(line) >= 3 and isinstance(line[0], list):
            flags = frozenset(f for f in line[0] if isinstance(f, str))
            name = _text(line[2])
            if name is not None:
                found.append(Listed(name, _text(line[1]), flags))
    return found


def discover(client: imaplib.IMAP4, capabilities: frozenset[str]) -> tuple[Layout, list[Listed]]:
    """Ask the server for its layout: NAMESPACE when it has it, else the separator of LIST
    "" ""; the special-use folders from a LIST of every folder (which also says what exists)."""
    prefix: str | None = None
    separator: str | None = None
    if "NAMESPACE" in capabilities:
        typ, data = client.namespace()
        got = parse_namespace(data) if typ == "OK" else None
        if got is not None:
            prefix, separator = got
    if separator is None:
        typ, data = client.list('""', '""')
        root = parse_list(data) if typ == "OK" else []
        separator = root[0].separator if root else None
    typ, data = "NO", []
    if {"SPECIAL-USE", "LIST-EXTENDED"} <= capabilities:
        with contextlib.suppress(imaplib.IMAP4.error):  # a server that only claims it
            typ, data = client._simple_command("LIST", '""', '"*"', "RETURN", "(SPECIAL-USE)")
            typ, data = client._untagged_response(typ, data, "LIST")
    if typ != "OK":
        typ, data = client.list('""', '"*"')  # most servers show the special uses here too
    listed = parse_list(data) if typ == "OK" else []
    special: dict[Role, str] = {}
    for role in Role:
        for folder in listed:
            if role.value.lower() in {f.lower() for f in folder.flags}:
                special.setdefault(role, folder.name)
    return personal_layout(prefix, separator, special), listed


def _values(raw: bytes) -> list[Value]:
    out: list[Value] = []
    for m in _TOKEN.finditer(raw):
        opened, closed, quoted, atom = m.groups()
        if opened:
            out.append("(")
        elif closed:
            out.append(")")
        elif quoted is not None:
            out.append(re.sub(rb"\\(.)", rb"\1", quoted))
        elif atom is not None:
            out.append(None if atom.upper() == b"NIL" else atom.decode("latin-1"))
    return out


def _nest(tokens: Iterator[Value]) -> list[Value]:
    out: list[Value] = []
    for token in tokens:
        if token == "(":  # a quoted "(" or a literal is bytes, never equal to the str "("
            out.append(_nest(tokens))
        elif token == ")":
            return out
        else:
            out.append(token)
    return out


def _text(value: Value) -> str | None:
    """A name or separator as text: modified UTF-7 decoded (an atom is ASCII already)."""
    if value is None or isinstance(value, list):
        return None
    raw = value if isinstance(value, bytes) else value.encode("latin-1")
    return utf7_decode(raw)
