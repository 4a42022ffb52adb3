"""The application: the loop, the cycle and the use cases that apply the core's decisions to the
store through one write path, then to the mailbox and the outbox."""
