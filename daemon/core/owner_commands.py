"""Owner commands by mail: what a reply to a notice asks for, and whether to allow it. Pure.

An owner who has just answered a customer should not need a web page or a shell to close the
case: replying "close" to the feedbackd notice is enough. Two things must both hold before a
command touches a case, because each alone is forgeable or leakable:

- the sender is the case owner, that owner's supervisor, or the feedback center (the From);
- the reply came to the per-case token address that only the notice carried (`daemon.tokens`).

A command acts once: the caller says whether the same command (case, From, command, Date) was
carried out before, and a replay of it under a new Message-ID is refused (`replayed`).

Only the first non-empty line counts, and `reopen` must stand alone on it, so a sentence that
happens to begin with "Close to done, …" or a quoted notice never acts; `close` may carry the
outcome and nothing else (`close justified cause=delivery remedy=certificate`, `закрыть
обоснована причина=доставка`: daemon.core.outcomes reads and checks it). `explain ADDRESS`
asks that employee for a written explanation (daemon.core.explanations); `category C` moves
the case to its right category (daemon.core.reclassify). The result says which
lifecycle event to apply; applying it (and refusing an illegal one) stays with `daemon.cases`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from daemon.core.cases import LIFECYCLE, Case
from daemon.core.explanations import outstanding
from daemon.core.outcomes import Asked, Refusal, parse_words, settle
from daemon.core.rules import Owner, RuleBook

CLOSE, REOPEN, REASSIGN, NOTE, EXPLAIN = "close", "reopen", "reassign", "note", "explain"
#: `category complaint` / `категория жалоба`: the case to its right category, with its owner,
#: due date and (once) a corrected acknowledgment (daemon.core.reclassify).
CATEGORY = "category"
EVENTS = {
    CLOSE: "closed",
    REOPEN: "reopened",
    REASSIGN: "reassigned",
    NOTE: "note",
    EXPLAIN: "explanation_asked",
    CATEGORY: "reclassified",
}
#: Every word that starts a command, lower-case, in the languages owners write in.
ALIASES = {
    "close": CLOSE,
    "закрыть": CLOSE,
    "reopen": REOPEN,
    "переоткрыть": REOPEN,
    "reassign": REASSIGN,
    "передать": REASSIGN,
    "note": NOTE,
    "заметка": NOTE,
    "explain": EXPLAIN,
    "объяснение": EXPLAIN,
    "объяснить": EXPLAIN,
    "объяснительная": EXPLAIN,
    "category": CATEGORY,
    "категория": CATEGORY,
}
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
MAX_NOTE = 2000
_FIRST_WORD = re.compile(r"^([^\W\d_]+)(?:[.!:]+\s*|\s+|$)(.*)$")
#: Lines that end a note: blank, quoted, a signature separator or a client's reply divider.
_END_OF_NOTE = re.compile(r"^\s*$|^\s*>|^--\s*$|^\s*(_{5,}|-{5,})")
_TRAILING = ".!:;, \t"
#: Words owners write for a category, besides its key in rules.yaml.
CATEGORY_WORDS = {
    "жалоба": "complaint",
    "благодарность": "thanks",
    "спасибо": "thanks",
    "официальное": "official",
    "претензия": "official",
    "неразобрано": "unclassified",
    "разбор": "unclassified",
}


@dataclass(frozen=True)
class Command:
    """A parsed command: `kind` is close | reopen | reassign | note | explain | category;
    `argument` the rest (the outcome words of a close, the owner of reassign, the employee of
    explain, the category word of category)."""

    kind: str
    argument: str = ""
    line: str = ""  # the first line as written, for the case history and the reply


@dataclass(frozen=True)
class Authorization:
    """The verdict on a command: what to apply, or why not (`code` is stable, `reason` is for
    the person who sent the command, in their language)."""

    allowed: bool
    code: str  # ok | no_command | no_case | bad_token | not_allowed | replayed |
    #            unknown_owner | same_owner | illegal | already_asked | unknown_category |
    #            same_category | the outcome's codes
    reason: str
    event: str = ""  # the `cases.apply` event when allowed: closed | reopened | reassigned |
    #                  note | explanation_asked | reclassified
    data: dict[str, Any] = field(default_factory=dict)  # owner=… for reassigned, text=… for
    #                  note, the outcome for closed, employee=… for explanation_asked,
    #                  category=… for reclassified
    actor: str = ""  # owner key of the sender (or the address), for `cases.apply(who=…)`
    language: str = "ru"  # the sender's language, for the reply


def parse_command(text: str) -> Command | None:
    """The command on the first non-empty line of a reply, or None if that line is not one.

    A quoted first line ("> …") is not a command: the reply's own text comes first. A note may
    continue over the following lines of its paragraph; a blank or quoted line ends it.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start = next((i for i, line in enumerate(lines) if line.strip(" \t\ufeff\u00a0")), None)
    if start is None:
        return None
    first = lines[start].strip(" \t\ufeff\u00a0")
    if first.startswith(">"):
        return None
    m = _FIRST_WORD.match(first)
    if not m or m.group(1).lower() not in ALIASES:
        return None
    kind, rest = ALIASES[m.group(1).lower()], m.group(2).strip()
    if kind == REOPEN:
        return Command(kind, "", first) if not rest.strip(_TRAILING) else None
    if kind == CATEGORY:
        words = rest.split()
        return Command(kind, words[0].strip(_TRAILING).lower(), first) if len(words) == 1 else None
    if kind == CLOSE:
        if not rest.strip(_TRAILING):
            return Command(kind, "", first)
        return Command(kind, rest, first) if parse_words(rest) is not None else None
    if kind == EXPLAIN:
        words = rest.split()
        address = words[0].strip(_TRAILING + "<>").lower() if len(words) == 1 else ""
        return Command(kind, address, first) if _ADDRESS.match(address) else None
    if kind == REASSIGN:
        words = rest.split()
        if words and words[0].lower() in ("to", "на", "к"):
            words = words[1:]
        if len(words) != 1:
            return None
        return Command(kind, words[0].strip(_TRAILING + "<>").lower(), first)
    paragraph = [rest]
    for line in lines[start + 1 :]:
        if _END_OF_NOTE.match(line):
            break
        paragraph.append(line.strip())
    note = "\n".join(p for p in paragraph if p).strip()
    return Command(kind, note[:MAX_NOTE], first) if note else None


def authorize(
    command: Command | None,
    case: Case | None,
    sender: str,
    token_ok: bool,
    book: RuleBook,
    *,
    replayed: bool = False,
) -> Authorization:
    """May `sender` do `command` to `case`? `token_ok` is `tokens.valid_token(...)` for the
    address the reply came to; without it nothing is allowed, whoever the From claims to be.
    `replayed`: this very command (same From and Date) was carried out before."""
    sender = sender.strip().lower()
    me = next((o for o in book.owners.values() if o.email.lower() == sender), None)
    center = book.owners.get(book.center)
    lang = me.language if me else (center.language if center else "ru")

    def no(code: str, **facts: str) -> Authorization:
        return Authorization(
            False, code, _say(lang, code, **facts), actor=me.key if me else sender, language=lang
        )

    if command is None:
        return no("no_command")
    if case is None:
        return no("no_case")
    if not token_ok:
        return no("bad_token", case=case.id)
    if sender not in commanders(case, book):
        return no("not_allowed", case=case.id)
    if replayed:
        return no("replayed", case=case.id)
    data: dict[str, str] = {}
    if command.kind == REASSIGN:
        target = _find_owner(command.argument, book)
        if target is None:
            return no("unknown_owner", who=command.argument, known=", ".join(sorted(book.owners)))
        if target.key == case.owner:
            return no("same_owner", who=target.key)
        data = {"owner": target.key}
    elif command.kind == NOTE:
        data = {"text": command.argument}
    elif command.kind == CATEGORY:
        name = CATEGORY_WORDS.get(command.argument, command.argument)
        if name not in book.categories:
            return no("unknown_category", what=command.argument, known=", ".join(book.categories))
        if name == case.category:
            return no("same_category", case=case.id, what=name)
        data = {"category": name}
    elif command.kind == CLOSE:
        settled = settle(parse_words(command.argument) or Asked(), case, book)
        if isinstance(settled, Refusal):
            return no(settled.code, outcome=settled.say(lang))
        data = settled
    elif command.kind == EXPLAIN:
        if command.argument in {a.employee for a in outstanding(case)}:
            return no("already_asked", case=case.id, who=command.argument)
        data = {"employee": command.argument}
    event = EVENTS[command.kind]
    if (case.status, event) not in LIFECYCLE:
        status = _STATUS.get(lang, _STATUS["en"]).get(case.status, case.status)
        return no("illegal", case=case.id, status=status)
    actor = me.key if me else sender
    return Authorization(True, "ok", _say(lang, "ok", case=case.id), event, data, actor, lang)


def commanders(case: Case, book: RuleBook) -> frozenset[str]:
    """The addresses that may command `case`: its owner, the owner's supervisor, the center."""
    owner = book.owners.get(case.owner)
    sup = book.owners.get(owner.supervisor) if owner and owner.supervisor else None
    return frozenset(o.email.lower() for o in (owner, sup, book.owners.get(book.center)) if o)


def _find_owner(name: str, book: RuleBook) -> Owner | None:
    """An owner by key or by e-mail address, case-insensitively."""
    name = name.lower()
    return next(
        (o for o in book.owners.values() if o.key.lower() == name or o.email.lower() == name), None
    )


_STATUS = {
    "ru": {"open": "открыто", "answered": "отвечено", "closed": "закрыто"},
    "en": {"open": "open", "answered": "answered", "closed": "closed"},
}
_REASONS = {
    "ru": {
        "ok": "Команда принята.",
        "no_command": "В первой строке ответа нет команды. Напишите в первой строке: close, "
        "reopen, reassign <владелец>, category <категория>, note <текст> или explain <адрес "
        "сотрудника>.",
        "no_case": "Такого обращения нет.",
        "bad_token": "Ответ пришёл не на адрес из уведомления по обращению {case}. Ответьте на "
        "само уведомление («Ответить»), не меняя адрес получателя.",
        "not_allowed": "Команды по обращению {case} принимаются только от его владельца, "
        "руководителя владельца и центра обратной связи.",
        "replayed": "Эта команда по обращению {case} уже выполнена: повтор того же письма "
        "(тот же отправитель и та же дата) не выполняется ещё раз. Чтобы повторить команду, "
        "отправьте новое письмо.",
        "unknown_owner": "Владелец «{who}» не найден. Известные владельцы: {known}.",
        "same_owner": "Обращение уже у владельца «{who}».",
        "unknown_category": "Категории «{what}» нет. Категории: {known} (или жалоба, "
        "благодарность, официальное, неразобрано).",
        "same_category": "Обращение {case} уже в категории «{what}».",
        "illegal": "Обращение {case} сейчас {status}: эта команда к нему неприменима.",
        "already_asked": "Объяснение по обращению {case} у {who} уже запрошено и ещё не получено.",
    },
    "en": {
        "ok": "Command accepted.",
        "no_command": "The first line of your reply is not a command. Write one of close, "
        "reopen, reassign <owner>, category <category>, note <text> or explain <employee's "
        "address> on the first line.",
        "no_case": "There is no such case.",
        "bad_token": "Your reply did not come to the address of the notice about {case}. Reply "
        "to the notice itself without changing the recipient.",
        "not_allowed": "Commands for {case} are accepted only from its owner, the owner's "
        "supervisor and the feedback center.",
        "replayed": "This command for {case} was carried out already: a copy of the same mail "
        "(same sender, same Date) does not act again. To give the command again, write a new "
        "reply.",
        "unknown_owner": "There is no owner '{who}'. Known owners: {known}.",
        "same_owner": "The case is already owned by '{who}'.",
        "unknown_category": "There is no category '{what}'. Categories: {known}.",
        "same_category": "{case} is already in the category '{what}'.",
        "illegal": "{case} is {status}: this command does not apply to it.",
        "already_asked": "An explanation of {case} was asked of {who} already and is not in yet.",
    },
}
for _lang in _REASONS:  # the outcome's refusals speak for themselves (daemon.core.outcomes)
    for _code in (
        "needs_verdict",
        "bad_word",
        "unknown_cause",
        "unknown_remedy",
        "remedy_level",
        "unknown_complexity",
        "bad_employee",
    ):
        _REASONS[_lang][_code] = "{outcome}"


def _say(lang: str, code: str, **facts: str) -> str:
    return _REASONS.get(lang, _REASONS["en"])[code].format(**facts)
