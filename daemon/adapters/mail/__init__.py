"""The mail servers: IMAP (session, fetching, the server's folder layout), SMTP, and the TLS
both use."""
