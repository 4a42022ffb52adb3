"""The local mail lab (Dovecot + SMTP on loopback) for tests, the demo and benchmarks; never imported by the daemon."""
