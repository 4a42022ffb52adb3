"""TLS for both mail servers: one place decides how a certificate is checked.

IMAP and SMTP must agree on what is trusted (the same FEEDBACKD_*_CA_FILE and *_TLS_VERIFY
rules), and the SMTP adapter must not depend on the IMAP adapter to learn it.
"""

from __future__ import annotations

import ssl

from daemon.adapters.settings import Server

#: OpenSSL's verify codes for the certificate problems an admin meets (X509_V_ERR_*).
_EXPIRED = 10
_HOSTNAME_MISMATCH = 62


def tls_context(server: Server) -> ssl.SSLContext:
    """Certificates are verified by default; a private CA is trusted via *_CA_FILE, and only
    an explicit *_TLS_VERIFY=no turns the checks off."""
    ctx = ssl.create_default_context(cafile=server.ca_file)
    if not server.verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def certificate_refused(kind: str, server: Server, exc: ssl.SSLCertVerificationError) -> str:
    """One line for a certificate we do not accept, with what to do: a name the certificate
    does not carry needs another host name, an unknown issuer a CA file, an expired one the
    server's admin."""
    p = f"FEEDBACKD_{kind}_"
    where = f"{kind} {server.host}:{server.port}"
    said = exc.verify_message or exc.reason or str(exc)
    if exc.verify_code == _HOSTNAME_MISMATCH:
        return (
            f"{where}: the certificate is not for {server.host} ({said}): set {p}HOST to a "
            "name the certificate carries"
        )
    if exc.verify_code == _EXPIRED:
        return f"{where}: the server's certificate has expired ({said}): have it renewed"
    return f"{where}: certificate not trusted ({said}): set {p}CA_FILE to the CA that signed it"
