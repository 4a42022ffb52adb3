"""Reading messages off the server: FETCH in chunks, a large message as its head only.

Apart from the session (adapters/imap) because it is the one part that parses message data:
UID, RFC822.SIZE and INTERNALDATE out of FETCH answers, BODY.PEEK so nothing is marked read,
and a message over the size limit read as its header plus the first LARGE_HEAD bytes of its
body, so a 2 GB attachment never enters memory. It runs the UID commands it is given.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

FETCH_CHUNK = 200
LARGE_HEAD = 256 * 1024  # of a message over the size limit, this much of the body is read
#: One element of an imaplib answer: a line, or a (line, literal) pair for FETCH bodies.
Item = bytes | tuple[bytes, bytes]


@dataclass(frozen=True)
class Fetched:
    uid: int
    raw: bytes
    size: int
    internaldate: datetime | None  # when the server received it: the legal "received" time
    truncated: bool = False  # over the size limit: headers and the start of the body only


def fetch_messages(
    cmd: Callable[..., list[Item]], uids: list[int], max_size: int | None = None
) -> list[Fetched]:
    """Raw bytes of the messages, in chunks; BODY.PEEK so nothing is marked read.

    A message over `max_size` is read as its header plus the first LARGE_HEAD bytes of its
    body, so a 2 GB attachment never enters memory; the text it starts with still is."""
    out: list[Fetched] = []
    for i in range(0, len(uids), FETCH_CHUNK):
        chunk = uids[i : i + FETCH_CHUNK]
        large: set[int] = set()
        if max_size:
            sizes = _items(cmd, chunk, "(UID RFC822.SIZE)")
            large = {uid for uid, head, _ in sizes if _size(head) > max_size}
        small = [u for u in chunk if u not in large]
        if small:
            whole = "(UID RFC822.SIZE INTERNALDATE BODY.PEEK[])"
            for uid, head, body in _items(cmd, small, whole):
                out.append(Fetched(uid, body, _size(head) or len(body), _internaldate(head)))
        for uid in sorted(large):
            parts = cmd(
                "FETCH",
                str(uid),
                f"(UID RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER] BODY.PEEK[TEXT]<0.{LARGE_HEAD}>)",
            )
            chunks = [p for p in parts if isinstance(p, tuple)]
            head = b" ".join(p[0] for p in chunks)
            raw = b"".join(p[1] for p in chunks)
            out.append(Fetched(uid, raw, _size(head), _internaldate(head), truncated=True))
    out.sort(key=lambda f: f.uid)
    return out


def _items(
    cmd: Callable[..., list[Item]], uids: list[int], what: str
) -> list[tuple[int, bytes, bytes]]:
    items = []
    for item in cmd("FETCH", ",".join(map(str, uids)), what):
        if isinstance(item, tuple):
            m = re.search(rb"UID (\d+)", item[0])
            if m:
                items.append((int(m.group(1)), item[0], item[1]))
        elif isinstance(item, bytes):
            m = re.search(rb"UID (\d+)", item)
            if m:
                items.append((int(m.group(1)), item, b""))
    return items


def _size(head: bytes) -> int:
    m = re.search(rb"RFC822\.SIZE (\d+)", head)
    return int(m.group(1)) if m else 0


def _internaldate(head: bytes) -> datetime | None:
    m = re.search(rb'INTERNALDATE "([^"]+)"', head)
    if not m:
        return None
    try:
        return datetime.strptime(m.group(1).decode(), "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        return None
