"""Folder names as rules.yaml writes them, and as the IMAP server spells them.

rules.yaml (and the ledger, and the triage) name folders one way everywhere: levels joined by
`/`, no prefix (`Feedback/Thanks`, `Quarantine`, `Sent`). Servers differ: Dovecot's default is
`/` and no prefix, Courier, Cyrus without `unixhierarchysep` and Dovecot's Maildir++ layout put
every folder under `INBOX.` with `.` between levels, some use `|`; the Sent folder is whatever
the server marks `\\Sent` (RFC 6154): "Sent Items", "[Gmail]/Sent Mail", "Отправленные".
Sending `Feedback/Thanks` to such a server as it is fails ("Character not allowed in mailbox
name: '/'"), and creating `Sent` beside the real one hides our copies from the people who read
the mailbox.

`Layout` is what the adapter learned from NAMESPACE (RFC 2342) and LIST; `server_name` maps one
of our names to the server's, a pure function so every layout is tested without a server. A
name that cannot be spelled on this server (a level that contains the server's separator) is a
`FolderUnavailable`, as is a folder the server refuses to create: the caller leaves the message
where it is and tells the admin, it never ends the cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from daemon.errors import FeedbackdError

INBOX = "INBOX"


class Role(Enum):
    """The special-use attributes of RFC 6154 that feedbackd looks for."""

    SENT = "\\Sent"
    JUNK = "\\Junk"
    ARCHIVE = "\\Archive"
    TRASH = "\\Trash"
    DRAFTS = "\\Drafts"


#: Our folder names that stand for a role: the server's own folder of that role is used.
ROLE_OF: dict[str, Role] = {"Sent": Role.SENT}


class FolderUnavailable(FeedbackdError):
    """A folder of ours cannot be used on this server: the message stays where it is."""

    def __init__(self, folder: str, server_name: str, reason: str):
        self.folder = folder
        self.server_name = server_name
        self.reason = reason
        shown = f"'{folder}'" + (f" (on the server '{server_name}')" if server_name else "")
        super().__init__(
            f"cannot use folder {shown}: {reason}; create it on the server by hand "
            "or change the folder's name in rules.yaml"
        )


@dataclass(frozen=True)
class Layout:
    """The server's personal namespace and the folders it marks with a special use."""

    prefix: str = ""  # e.g. "INBOX." (it ends with the separator when it is not empty)
    separator: str = "/"  # "" when the server has no hierarchy (a flat namespace)
    special: dict[Role, str] = field(default_factory=dict)  # role -> the server's name

    def server_name(self, folder: str) -> str:
        """The server's name for our `folder` (written with `/`)."""
        if folder.upper() == INBOX:
            return INBOX
        role = ROLE_OF.get(folder)
        if role is not None and role in self.special:
            return self.special[role]
        levels = folder.split("/")
        if any(not level for level in levels):
            raise FolderUnavailable(
                folder, "", "an empty level (a `/` at the start, the end, or twice)"
            )
        sep = self.separator or "/"
        if len(levels) > 1 and not self.separator:
            raise FolderUnavailable(folder, "", "the server has no folder hierarchy")
        for level in levels:
            if sep != "/" and sep in level:
                raise FolderUnavailable(
                    folder, "", f"the server separates levels with {sep!r}, which the name contains"
                )
        prefix = self.prefix
        if prefix and levels[0].upper() + sep == prefix.upper():
            prefix = ""  # written with the prefix already ("INBOX/Feedback" on an INBOX. server)
        if levels[0].upper() == INBOX:
            levels[0] = INBOX
        return prefix + sep.join(levels)

    def folder_of(self, server_name: str) -> str:
        """Our name for a server's folder (the inverse of `server_name`)."""
        for folder, role in ROLE_OF.items():
            if self.special.get(role) == server_name:
                return folder
        name = server_name
        if self.prefix and name.upper().startswith(self.prefix.upper()):
            name = name[len(self.prefix) :]
        return name.replace(self.separator, "/") if self.separator else name


def personal_layout(
    prefix: str | None, separator: str | None, special: dict[Role, str] | None = None
) -> Layout:
    """A Layout from what the server said (None where it said NIL or nothing)."""
    sep = separator or ""
    pre = prefix or ""
    if pre and sep and not pre.endswith(sep):
        pre += sep  # RFC 2342 prefixes end with the separator; be lenient with those that do not
    return Layout(pre, sep, dict(special or {}))
