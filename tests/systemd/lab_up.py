"""Run the mail lab (Dovecot and SMTP on host loopback) for the container test, until SIGTERM.

A container booted with systemd-nspawn shares the host's network unless told otherwise, so the
daemon inside reaches this lab at 127.0.0.1. Writes into OUT: `lab.env` (the FEEDBACKD_* server
settings; logins, passwords and the CA are left to the caller), `password` (the lab password,
for LoadCredential=), `ca.pem` (the lab's certificate authority) and, once both servers answer,
`ready`.
"""

from __future__ import annotations

import shutil
import signal
import sys
import threading
from pathlib import Path

from daemon.lab.dovecot import MailLab


def main(out: Path) -> int:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    out.mkdir(parents=True, exist_ok=True)
    with MailLab() as lab:
        env = lab.env()
        lines = [
            f"{key}={value}"
            for key, value in env.items()
            if not key.endswith(("_PASSWORD", "_CA_FILE", "_USER", "FEEDBACKD_ADDRESS"))
        ]
        (out / "lab.env").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (out / "password").write_text(lab.password, encoding="utf-8")
        shutil.copyfile(lab.cert, out / "ca.pem")
        (out / "ready").write_text("", encoding="utf-8")
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
