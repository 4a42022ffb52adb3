"""`feedbackd learn`: teach the learned fallback from saved mail, or see how well it does.

    feedbackd learn --category complaint FILE.eml...   # each file a lesson of that category
    feedbackd learn --evaluate [--folds 5]             # cross-validated accuracy on the lessons

The model is the file beside the store (`STORE.learned.json`); the daemon reads it anew every
cycle, so lessons given here count from the next cycle on, with or without a running daemon.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from daemon.adapters.config import load_rulebook
from daemon.adapters.settings import load_settings, rules_file
from daemon.adapters.storage.learned import load_model, model_path
from daemon.core.learning import evaluate
from daemon.service.learning import learn_files
from daemon.service.progress import reporter


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `learn` to the CLI's subcommands."""
    p = sub.add_parser("learn", help="teach the learned fallback from saved mail, or --evaluate it")
    p.add_argument("files", nargs="*", metavar="FILE.eml")
    p.add_argument("--category", help="the category every FILE.eml is an example of")
    p.add_argument("--evaluate", action="store_true", help="print k-fold cross-validated accuracy")
    p.add_argument("--folds", type=int, default=5, help="with --evaluate (default 5)")
    p.add_argument("--rules", help="rules file (default: FEEDBACKD_RULES or rules.yaml)")
    p.set_defaults(handler=learn_command)


def learn_command(args: argparse.Namespace) -> int:
    if args.evaluate:
        if args.files or args.category:
            return _usage("learn --evaluate takes no files and no --category")
        return evaluate_command(args.folds, sys.stdout)
    if not args.category or not args.files:
        return _usage("learn: give --category C and one or more FILE.eml (or --evaluate)")
    settings = load_settings(need_servers=False)
    book = load_rulebook(rules_file(args.rules))
    done = learn_files(settings.db, book, args.category, args.files, reporter(least=50))
    for name, why in done.unreadable:
        print(f"{name}: cannot read: {why}", file=sys.stderr)
    counts = ", ".join(f"{c} {n}" for c, n in done.model.categories.items())
    print(f"learned {done.learned} as {args.category}; the model holds {counts}")
    print(f"    {model_path(settings.db)}")
    return 1 if done.unreadable else 0


def evaluate_command(folds: int, out: TextIO) -> int:
    if not 2 <= folds <= 20:
        return _usage("--folds must be from 2 to 20")
    settings = load_settings(need_servers=False)
    model = load_model(settings.db)
    if len(model.examples) < folds:
        print(
            f"{len(model.examples)} lesson(s) learned: too few for {folds}-fold "
            "cross-validation; teach it with feedbackd learn --category C FILE.eml",
            file=out,
        )
        return 1
    result = evaluate(model, folds)
    print(
        f"{folds}-fold cross-validated accuracy: {result.accuracy:.1%} "
        f"({result.correct} of {result.total} lessons)",
        file=out,
    )
    for category, (right, seen) in result.per_category.items():
        print(f"    {category:<14} {right:>5} of {seen:<5} {right / seen:.1%}", file=out)
    return 0


def _usage(sentence: str) -> int:
    print(f"feedbackd: {sentence}", file=sys.stderr)
    return 2
