"""`feedbackd reprocess` of a large quarantine on the real Dovecot: every message back in INBOX,
moved in slices (so a lost connection strands none half-moved) with progress lines on stderr
when no terminal shows a bar."""

from __future__ import annotations

from email.message import EmailMessage

from support import Desk

from daemon.adapters.mail.imap import TAKE_BACK_SLICE
from daemon.service.intake import QUARANTINE
from daemon.service.progress import LONG


def test_reprocess_of_a_large_quarantine_moves_everything_and_says_how_far_it_is(
    desk: Desk,
) -> None:
    n = LONG + TAKE_BACK_SLICE + 7  # more than one slice, and not a whole number of them
    with desk.lab.mailbox(desk.address) as mb:
        mb.folder.create(QUARANTINE)
        for i in range(n):
            msg = EmailMessage()
            msg["From"] = f"c{i}@example.test"
            msg["To"] = desk.address
            msg["Subject"] = f"kept aside {i}"
            msg["Message-ID"] = f"<q{i}@example.test>"
            msg.set_content("broken in some way")
            mb.append(msg.as_bytes(), QUARANTINE)
    done = desk.feedbackd("reprocess", timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{n} message(s) moved from {QUARANTINE} back to INBOX")
    said = [line for line in done.stderr.splitlines() if "moved back from" in line]
    assert said, done.stderr
    assert f"messages moved back from {QUARANTINE}: {n} of {n} done in" in said[-1]
    assert len(said) >= 2  # a line on the way (every 500), not only at the end
    folders = desk.folders()
    assert folders["INBOX"] == n
    assert folders[QUARANTINE] == 0
