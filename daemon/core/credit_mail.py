"""The thanks mailed to the employees a thank-you names (daemon.core.credits), and to their
managers, one mail per address; a name several people share goes to their team. Pure: the
case's events and the owed mail, for `new_case.on_open` to return.
"""

from __future__ import annotations

from datetime import datetime

from daemon.core import cases as lifecycle
from daemon.core.cases import Case
from daemon.core.credits import Credit, own_words, thanked_addresses
from daemon.core.frame import Frame
from daemon.core.mail.message import Message
from daemon.core.mail.notices import thanks_forward
from daemon.core.mail.outgoing import owed
from daemon.core.records import OutMail
from daemon.core.rules import Owner, RuleBook
from daemon.core.rules.model import Employee


def credit_addresses(found: Credit, book: RuleBook) -> set[str]:
    """Everyone a credit mails the thanks to: the employees, their managers, unclear teams."""
    people = {a for p in found.employees for a in thanked_addresses(p, book)}
    teams = {book.owners[u.team].email.lower() for u in found.unclear if u.team in book.owners}
    return people | teams


def credit_thanks(
    frame: Frame, case: Case, msg: Message, now: datetime, sent: set[str], found: Credit
) -> tuple[Case, list[OutMail]]:
    """`credited` for each employee the thank-you names, `credit_unclear` for a name several
    share (the team counts it); the thanks to each employee and manager not yet mailed (the
    case's owner among them is thereby told of the case)."""
    desk, book, mail = frame.notices, frame.notices.book, []
    owner = book.owners.get(case.owner)
    words = own_words(msg.text)
    if words:
        case = lifecycle.apply(case, "thanks_quoted", now, text=words)
    for person in found.employees:
        case = lifecycle.apply(
            case, "credited", now, employee=person.address, team=person.team, name=person.name
        )
        for address in thanked_addresses(person, book):
            if address in sent or address == desk.address:
                continue
            sent.add(address)
            to = recipient(book, address, person)
            mid = frame.new_id()
            named = "" if address == person.address else person.name
            thanks = thanks_forward(
                desk, case, msg, to, message_id=mid, now=now, thanked_name=named
            )
            mail.append(owed(desk, thanks, "thanks", case.id, to.email, now))
            if owner is not None and address == owner.email.lower():
                case = lifecycle.apply(case, "owner_notified", now, message_id=mid, to=owner.key)
            case = lifecycle.apply(case, "thanks_forwarded", now, message_id=mid, to=address)
    for unclear in found.unclear:
        case = lifecycle.apply(
            case,
            "credit_unclear",
            now,
            word=unclear.word,
            candidates=list(unclear.candidates),
            team=unclear.team,
        )
        team = book.owners.get(unclear.team)
        if team is not None and team.email.lower() not in sent:  # the team hears it instead
            sent.add(team.email.lower())
            mid = frame.new_id()
            thanks = thanks_forward(desk, case, msg, team, message_id=mid, now=now)
            mail.append(owed(desk, thanks, "thanks", case.id, team.email, now))
            if owner is not None and team.key == owner.key:
                case = lifecycle.apply(case, "owner_notified", now, message_id=mid, to=owner.key)
            case = lifecycle.apply(case, "thanks_forwarded", now, message_id=mid, to=team.key)
    return case, mail


def recipient(book: RuleBook, address: str, person: Employee) -> Owner:
    """The thanks' addressee as the staff mail wants it: an owner, or an employee."""
    owner = next((o for o in book.owners.values() if o.email.lower() == address), None)
    if owner is not None:
        return owner
    other = book.employees.get(address, person)
    team = book.owners.get(other.team)
    return Owner(address, other.name, address, team.language if team else "ru")
