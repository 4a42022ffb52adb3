"""Learning's service half: lessons into the model file, the model into intake's classifier.

The model (daemon.core.learning) lives in `STORE.learned.json` beside the store. Three things
teach it: a case a person reclassified, a case a person closed as it was (both through
`learn_from_cases`, called where those changes are applied — the command line's
`apply_request` and intake's `apply` for mail commands), and `feedbackd learn --category C
FILE.eml…` (`learn_files`). A case's words are kept in the store's meta when it opens
(triage's plan), because by the time a person corrects it the letter is in a folder on the
mail server, not here.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from daemon.adapters.storage.learned import load_model, update_model
from daemon.adapters.storage.store import Store
from daemon.core.cases import Case
from daemon.core.frame import Classifier
from daemon.core.learning import (
    WORDS_KEY,
    Example,
    Model,
    fallback,
    learn,
    lesson,
    message_words,
)
from daemon.core.mail.message import parse
from daemon.core.progress import Reporter, silent
from daemon.core.rules import RuleBook, classify
from daemon.errors import BadMessage, ConfigError

log = logging.getLogger("feedbackd.learning")


def learned_model(db: Path | None) -> Model:
    """The model learned for the store `db` (empty without one). A damaged model file is
    logged and the rules decide alone: mail must keep flowing."""
    if db is None:
        return Model()
    try:
        return load_model(db)
    except ConfigError as exc:
        log.error("learned model not used: %s", exc)
        return Model()


def classifier(db: Path | None, rules: Classifier = classify) -> Classifier:
    """The `rules`, then the model learned for the store `db` (the rules alone without one)."""
    model = learned_model(db)
    return fallback(model, rules) if model.examples else rules


def learn_from_cases(store: Store, cases: Iterable[Case]) -> int:
    """Learn what `cases` teach (reclassified, or closed by a person as they were); returns
    how many lessons. A store without a file (a test's) or a case without kept words teaches
    nothing; a model that cannot be written is logged, never a reason to lose the change."""
    if store.path is None or store.read_only:
        return 0
    lessons: list[Example] = []
    for case in cases:
        kept = store.meta(WORDS_KEY.format(case.id))
        words = kept.get("words") if isinstance(kept, dict) else None
        if words is None:
            continue
        taught = lesson(case, (str(w) for w in words))
        if taught is not None:
            lessons.append(taught)
    if not lessons:
        return 0

    def add(model: Model) -> Model:
        for ex in lessons:
            model = learn(model, ex)
        return model

    try:
        update_model(Path(store.path), add)
    except (OSError, ConfigError) as exc:
        log.error("could not learn from %s: %s", ", ".join(e.key for e in lessons), exc)
        return 0
    for ex in lessons:
        log.info("learned %s as %s (%s)", ex.key, ex.category, ex.source)
    return len(lessons)


@dataclass
class Learned:
    """What `learn_files` did: lessons added, files it could not read (name, why)."""

    learned: int = 0
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    model: Model = field(default_factory=Model)


def learn_files(
    db: Path, book: RuleBook, category: str, files: Sequence[str], progress: Reporter = silent
) -> Learned:
    """Each saved mail in `files` as a lesson of `category` (the same file again replaces its
    lesson: the key is its content's hash)."""
    if category not in book.categories:
        known = ", ".join(sorted(book.categories))
        raise ConfigError(f"unknown category {category!r}: use one of {known}")
    out = Learned()
    lessons: list[Example] = []
    bar = progress(len(files), "learning", "msg")
    try:
        for name in files:
            try:
                raw = Path(name).read_bytes()
                words = message_words(parse(raw), book)
            except (OSError, BadMessage) as exc:
                out.unreadable.append((name, getattr(exc, "strerror", None) or str(exc)))
            else:
                key = "file:" + hashlib.sha256(raw).hexdigest()[:32]
                lessons.append(Example(key, category, words, "learn"))
            bar.advance()
    finally:
        bar.close()

    def add(model: Model) -> Model:
        for ex in lessons:
            model = learn(model, ex)
        return model

    out.model = update_model(db, add)
    out.learned = len(lessons)
    return out
