"""`python -m daemon` is the same as the `feedbackd` command."""

from daemon.cli import main

raise SystemExit(main())
