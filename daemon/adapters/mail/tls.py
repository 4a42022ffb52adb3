"""TLS for both mail servers: one place decides how a certificate is checked.

IMAP and SMTP must agree on what is trusted (the same FEEDBACKD_*_CA_FILE and *_TLS_VERIFY
rules), and the SMTP adapter must not depend on the IMAP adapter to learn it.
"""

from __future__ import annotations

import ssl

from daemon.adapters.settings import Server


def tls_context(server: Server) -> ssl.SSLContext:
    """Certificates are verified by default; a private CA is trusted via *_CA_FILE, and only
    an explicit *_TLS_VERIFY=no turns the checks off."""
    ctx = ssl.create_default_context(cafile=server.ca_file)
    if not server.verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx
