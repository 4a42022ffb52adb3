"""Per-case command tokens and the plus-addresses that carry them. Pure.

An owner closes or reassigns a case by replying to a feedbackd notice. The `From` of that reply
proves nothing — anyone can write any From — so every staff notice carries a `Reply-To` such as
`feedback+FB-2026-000001.k3x7q2m4a5b6c7d8@company.example`, where the last part is an HMAC of
the case id under a secret only the daemon knows. Only someone who received the notice can know
it, and a token for one case opens no other case.

The token alphabet is lower-case base32 (a-z, 2-7): valid in an unquoted local part, and immune
to the mail systems (and our own parser) that lower-case addresses on the way. Sixteen
characters are 80 bits, far beyond guessing by mail. The secret comes from the environment,
never from rules.yaml; rotating it invalidates the tokens of notices already sent, nothing else.

A staff answer proves itself the same way: the notice's answer link puts the case's *answer
address* (`feedback+answer.FB-2026-000001.TOKEN@…`) in the answer's Cc. Its token is made under
another domain separator, so it cannot command the case (the customer sees it in the Cc), and it
opens no other case; a mail claiming an owner's From without it is not an answer.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import re
from collections.abc import Iterable

TOKEN_LENGTH = 16
_DOMAIN_SEPARATOR = b"feedbackd case command v1\x00"
_ANSWER_SEPARATOR = b"feedbackd case answer v1\x00"
_DETAIL = re.compile(rf"^(fb-\d{{4}}-\d{{1,12}})\.([a-z2-7]{{{TOKEN_LENGTH}}})$")
_ANSWER_PREFIX = "answer."
_EXPLAIN_SEPARATOR = b"feedbackd case explanation v1\x00"
_EXPLAIN_PREFIX = "explain."


def _token(secret: bytes, separator: bytes, case_id: str) -> str:
    if not secret:
        raise ValueError("the command secret is empty: set one in the environment")
    digest = hmac.new(secret, separator + case_id.upper().encode("utf-8"), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:TOKEN_LENGTH]


def _same(expected: str, token: str) -> bool:
    """Compared in constant time, so timing tells nothing."""
    return hmac.compare_digest(
        expected.encode("ascii"), token.strip().lower().encode("ascii", "replace")
    )


def case_token(secret: bytes, case_id: str) -> str:
    """The token for `case_id`: deterministic, so nothing has to be stored to check it later."""
    return _token(secret, _DOMAIN_SEPARATOR, case_id)


def valid_token(secret: bytes, case_id: str, token: str) -> bool:
    """Whether `token` belongs to `case_id`; compared in constant time so timing tells nothing."""
    if not secret or not token:
        return False
    return _same(case_token(secret, case_id), token)


def answer_token(secret: bytes, case_id: str) -> str:
    """The token of the case's answer address: proves an answer, commands nothing."""
    return _token(secret, _ANSWER_SEPARATOR, case_id)


def answer_address(feedback_address: str, secret: bytes, case_id: str) -> str:
    """`local+answer.CASEID.TOKEN@domain`: what an owner's answer to the customer has in Cc."""
    local, at, domain = feedback_address.strip().rpartition("@")
    if not at or not local or not domain:
        raise ValueError(f"not an address: {feedback_address!r}")
    return f"{local}+{_ANSWER_PREFIX}{case_id.upper()}.{answer_token(secret, case_id)}@{domain}"


def proven_answer(
    addresses: Iterable[str], feedback_address: str, secret: bytes, case_id: str
) -> bool:
    """Whether one of `addresses` (To, Cc, Delivered-To, X-Original-To) is `case_id`'s answer
    address with its valid token; any other case's answer address proves nothing here."""
    if not secret:
        return False
    expected = answer_token(secret, case_id)
    for detail in _details(addresses, feedback_address):
        if not detail.startswith(_ANSWER_PREFIX):
            continue
        m = _DETAIL.match(detail[len(_ANSWER_PREFIX) :])
        if m and m.group(1).upper() == case_id.upper() and _same(expected, m.group(2)):
            return True
    return False


def answer_case(addresses: Iterable[str], feedback_address: str) -> str | None:
    """The case id an answer address among `addresses` names (its token not yet checked)."""
    for detail in _details(addresses, feedback_address):
        if detail.startswith(_ANSWER_PREFIX) and (
            m := _DETAIL.match(detail[len(_ANSWER_PREFIX) :])
        ):
            return m.group(1).upper()
    return None


def explanation_token(secret: bytes, case_id: str, employee: str) -> str:
    """The token of one employee's explanation address for one case: it proves that the reply
    comes from someone who received the request, and opens neither the case nor another one."""
    return _token(secret, _EXPLAIN_SEPARATOR, f"{case_id.upper()}\x00{employee.strip().lower()}")


def explanation_address(feedback_address: str, secret: bytes, case_id: str, employee: str) -> str:
    """`local+explain.CASEID.TOKEN@domain`: where the employee's written explanation goes."""
    local, at, domain = feedback_address.strip().rpartition("@")
    if not at or not local or not domain:
        raise ValueError(f"not an address: {feedback_address!r}")
    token = explanation_token(secret, case_id, employee)
    return f"{local}+{_EXPLAIN_PREFIX}{case_id.upper()}.{token}@{domain}"


def parse_explanation_address(
    addresses: Iterable[str], feedback_address: str
) -> tuple[str, str] | None:
    """The (case id, token) of the first explanation address among `addresses`, else None."""
    for detail in _details(addresses, feedback_address):
        if detail.startswith(_EXPLAIN_PREFIX) and (
            m := _DETAIL.match(detail[len(_EXPLAIN_PREFIX) :])
        ):
            return m.group(1).upper(), m.group(2)
    return None


def valid_explanation(secret: bytes, case_id: str, employee: str, token: str) -> bool:
    """Whether `token` is `employee`'s explanation token for `case_id` (constant time)."""
    if not secret or not token:
        return False
    return _same(explanation_token(secret, case_id, employee), token)


def command_address(feedback_address: str, case_id: str, token: str) -> str:
    """`local+CASEID.TOKEN@domain` for `local@domain`; the mail server must deliver plus-addresses
    to the feedback mailbox (Postfix `recipient_delimiter = +`, the default on most hosts)."""
    local, at, domain = feedback_address.strip().rpartition("@")
    if not at or not local or not domain:
        raise ValueError(f"not an address: {feedback_address!r}")
    return f"{local}+{case_id.upper()}.{token.lower()}@{domain}"


def parse_command_address(
    addresses: Iterable[str], feedback_address: str
) -> tuple[str, str] | None:
    """The (case id, token) of the first of `addresses` that is our plus-address, else None.

    Pass every address the reply was delivered to (To, Cc, Delivered-To, X-Original-To): mail
    clients differ in where a Reply-To ends up. Only the feedback address's own local part and
    domain count, so `someone+FB-….x@elsewhere` is not a command address.
    """
    for detail in _details(addresses, feedback_address):
        m = _DETAIL.match(detail)
        if m:
            return m.group(1).upper(), m.group(2)
    return None


def _details(addresses: Iterable[str], feedback_address: str) -> Iterable[str]:
    """The part after `local+` of each of `addresses` that is a plus-address of ours."""
    local, _, domain = feedback_address.strip().lower().rpartition("@")
    for value in addresses:
        _, addr = email.utils.parseaddr(value)
        addr_local, at, addr_domain = addr.strip().lower().rpartition("@")
        if at and addr_domain == domain and addr_local.startswith(local + "+"):
            yield addr_local[len(local) + 1 :]
