"""What the sender wrote in this message, apart from the quoted history and the sign-off.

A customer who answers our acknowledgment quotes it ("Спасибо за обращение…"), a question
ends with "Thanks,\\nHannah", a thank-you letter with "--\\nОтправлено с iPhone". Rules that
read all of it take our own words and the closing formula for the customer's opinion. So the
body is split once into three parts: `said` (the rules' default), `closing` (the valediction,
the name, the signature) and `quoted` (lines quoted with ">", and the history under
"On … wrote:" or "-----Original Message-----"). A forwarded message is not history: it is
what the sender brings to us, so it stays in `said`.

Pure and conservative: a line is cut only on a clear sign, and when nothing would be left
the whole text counts as said.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: The reply history starts at one of these lines; everything below is quoted.
_HISTORY = re.compile(
    r"^\s*(?:-{2,}\s*(?:original message|исходное сообщение|пересылаемое сообщение отсутствует)"
    r"\s*-{2,}"
    r"|on .{4,200}\bwrote:\s*$"
    r"|.{0,200}\b(?:написал|написала|пишет)(?:\(а\))?:\s*$"
    r"|from:\s.+\bsent:\s"
    r")",
    re.IGNORECASE,
)
_FORWARD = re.compile(
    r"^\s*-{2,}\s*(?:forwarded message|пересылаемое сообщение|"
    r"переадресованное сообщение)",
    re.IGNORECASE,
)
#: A signature starts at "-- " (RFC 3676) or a mobile client's tag line.
_SIGNATURE = re.compile(
    r"^(?:--\s*|__+\s*|sent from my \S.*|отправлено (?:с|из) .+|"
    r"get outlook for .+)$",
    re.IGNORECASE,
)
#: Valedictions: a line that is only one of these (and maybe a name after a comma) closes.
_VALEDICTION = re.compile(
    r"^(?:(?:many |big |huge )?thanks(?: again| in advance| a lot| so much)?|thank you"
    r"(?: again| in advance| very much| so much)?|thx|cheers|regards|best|best regards|"
    r"kind regards|warm regards|best wishes|all the best|sincerely|"
    r"yours(?: sincerely| faithfully| truly)?|"
    r"respectfully|с уважением|с наилучшими пожеланиями|всего доброго|всего хорошего|"
    r"хорошего дня|(?:заранее |большое |огромное )?спасибо(?: заранее| большое)?|"
    r"заранее благодар\w*|благодарю|с благодарностью)"
    r"\s*(?:[,.!]+\s*(?:[^\W\d_][\w.'\- ]{0,40})?)?$",
    re.IGNORECASE,
)
_NAME_LINE = re.compile(r"^[^?!]{1,60}$")
#: The last sentence of a line: "…on Easter Monday? Thanks, Beth" ends in a valediction too.
_LAST_SENTENCE = re.compile(r"(?<=[.?!])\s+(?=\S[^.?!]*[.?!]*\s*$)")
_MAX_NAME_LINES = 4


@dataclass(frozen=True, slots=True)
class Letter:
    said: str
    closing: str = ""
    quoted: str = ""


def split(text: str) -> Letter:
    """The body's three parts; `said` is never empty when the text is not."""
    lines = text.split("\n")
    kept, quoted = _drop_history(lines)
    said, closing = _drop_closing(kept)
    if not "".join(said).strip():
        return Letter(text)
    return Letter(
        "\n".join(said).strip("\n"), "\n".join(closing).strip("\n"), "\n".join(quoted).strip("\n")
    )


def _drop_history(lines: list[str]) -> tuple[list[str], list[str]]:
    kept: list[str] = []
    quoted: list[str] = []
    forwarded = False
    for i, line in enumerate(lines):
        if "--" in line or ":" in line:  # every history or forward marker has one of these
            if _FORWARD.match(line):
                forwarded = True
            if not forwarded and _HISTORY.match(line):
                quoted.extend(lines[i:])
                break
        (quoted if line.lstrip().startswith(">") and not forwarded else kept).append(line)
    return kept, quoted


def _drop_closing(lines: list[str]) -> tuple[list[str], list[str]]:
    for i, line in enumerate(lines):
        if _SIGNATURE.match(line.strip()) and "".join(lines[:i]).strip():
            lines, tail = lines[:i], lines[i:]
            break
    else:
        tail = []
    # the valediction is the last non-empty line, or stands above a few short name lines
    names = 0
    i = len(lines) - 1
    while i >= 0:
        line = lines[i].strip()
        if not line:
            i -= 1
            continue
        if _VALEDICTION.match(line):
            if "".join(lines[:i]).strip():
                return lines[:i], lines[i:] + tail
            break
        cut = _last_sentence_closing(lines, i)  # "…separately? Thanks!" above "Tom"
        if cut is not None:
            return cut[0], cut[1] + tail
        if names >= _MAX_NAME_LINES or not _NAME_LINE.match(line) or len(line.split()) > 5:
            break
        names += 1
        i -= 1
    return lines, tail


def _last_sentence_closing(lines: list[str], i: int) -> tuple[list[str], list[str]] | None:
    """Split "… take walk-ins? Thanks, Beth" at its last sentence when that is a valediction."""
    parts = _LAST_SENTENCE.split(lines[i].rstrip())
    if len(parts) < 2 or not _VALEDICTION.match(parts[-1].strip()):
        return None
    head = lines[i].rstrip()[: -len(parts[-1])].rstrip()
    return [*lines[:i], head], [parts[-1], *lines[i + 1 :]]
