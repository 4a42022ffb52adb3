"""What the corpus MANIFEST's tags mean for loop protection, shared by the corpus and lab tests."""

from __future__ import annotations

#: Tags that mark automatic mail: none of these messages may be acknowledged.
AUTOMATIC_TAGS = {
    "bounce_like",
    "dsn_multipart_report",
    "mailing_list",
    "precedence:bulk",
    "precedence:junk",
    "precedence:list",
    "precedence:auto_reply",
    "arf_feedback_report",
    "mdn_read_receipt",
}

#: Tagged messages that are really people's mail, and why.
PERSONS = {
    # A person forwarding a bounce by hand from Apple Mail ("Fwd: Returned mail ...", the bounce
    # quoted with "> "): the tag saw the quoted bounce text. The person should be answered.
    "sisimai-set-of-emails/bsd/lhost-sendmail-14.eml",
    # The same kind of hand-forwarded bounce, plain text, from a person to a colleague.
    "sisimai-set-of-emails/err/make-test-36.eml",
}


def is_automatic(tags: frozenset[str]) -> bool:
    return bool(tags & AUTOMATIC_TAGS) or any(t.startswith("auto_submitted:") for t in tags)
