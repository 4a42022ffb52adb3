"""`python -m daemon` is the same as the `feedbackd` command."""

from .cli import main

raise SystemExit(main())
