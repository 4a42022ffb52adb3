"""The local mail lab (Dovecot + SMTP on loopback) for tests, the demo and benchmarks.

Never imported by the daemon: it needs aiosmtpd, Dovecot and openssl, which production does not.
"""

from daemon.lab.dovecot import LabUnavailable, MailLab

__all__ = ["LabUnavailable", "MailLab"]
