"""Our folder names mapped to every server layout we know of, without a server."""

from __future__ import annotations

import pytest

from daemon.core.folders import FolderUnavailable, Layout, Role, personal_layout

DOVECOT = Layout()
COURIER = Layout("INBOX.", ".", {Role.SENT: "INBOX.Sent Items"})
PIPE = Layout("", "|", {Role.SENT: "Отправленные"})
GMAIL = Layout("", "/", {Role.SENT: "[Gmail]/Sent Mail", Role.JUNK: "[Gmail]/Spam"})


@pytest.mark.parametrize(
    ("layout", "folder", "expected"),
    [
        (DOVECOT, "Feedback/Thanks", "Feedback/Thanks"),
        (DOVECOT, "Sent", "Sent"),  # no \Sent announced: our own folder of that name
        (COURIER, "Feedback/Thanks", "INBOX.Feedback.Thanks"),
        (COURIER, "Quarantine", "INBOX.Quarantine"),
        (COURIER, "Sent", "INBOX.Sent Items"),
        (COURIER, "INBOX", "INBOX"),
        (COURIER, "inbox", "INBOX"),
        (COURIER, "INBOX/Feedback/Thanks", "INBOX.Feedback.Thanks"),  # the prefix written out
        (PIPE, "Feedback/Official", "Feedback|Official"),
        (PIPE, "Sent", "Отправленные"),
        (PIPE, "Отзывы/Спасибо", "Отзывы|Спасибо"),
        (GMAIL, "Sent", "[Gmail]/Sent Mail"),
        (GMAIL, "Feedback/Bounces", "Feedback/Bounces"),
    ],
)
def test_our_names_become_the_servers(layout: Layout, folder: str, expected: str) -> None:
    assert layout.server_name(folder) == expected
    assert layout.folder_of(expected) == (
        "INBOX" if folder.upper() == "INBOX" else folder.removeprefix("INBOX/")
    )


@pytest.mark.parametrize(
    ("layout", "folder", "words"),
    [
        (COURIER, "Feedback/v1.2", "separates levels with '.'"),
        (PIPE, "Feedback/a|b", "separates levels with '|'"),
        (DOVECOT, "Feedback//Thanks", "an empty level"),
        (DOVECOT, "/Feedback", "an empty level"),
        (Layout("", ""), "Feedback/Thanks", "no folder hierarchy"),
    ],
)
def test_a_name_the_server_cannot_spell_says_what_to_change(
    layout: Layout, folder: str, words: str
) -> None:
    with pytest.raises(FolderUnavailable) as caught:
        layout.server_name(folder)
    message = str(caught.value)
    assert words in message and f"'{folder}'" in message and "rules.yaml" in message
    assert caught.value.folder == folder


def test_a_flat_server_still_takes_one_level_names() -> None:
    assert Layout("", "").server_name("Quarantine") == "Quarantine"


def test_a_prefix_without_its_separator_and_nil_values_are_read_leniently() -> None:
    assert personal_layout("INBOX", ".") == Layout("INBOX.", ".")
    assert personal_layout(None, None) == Layout("", "")
    assert personal_layout("", "/", {Role.SENT: "Sent"}).special == {Role.SENT: "Sent"}
