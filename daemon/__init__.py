"""feedbackd: a feedback mailbox turned into a feedback center."""

__version__ = "0.1.0"
