"""The only code that touches sockets, files, the environment and processes: IMAP, SMTP, the
store and its sidecar files, settings, systemd."""
