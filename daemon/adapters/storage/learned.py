"""The learned model's file, `STORE.learned.json` beside the store: read it, write it whole.

The model is a value (daemon.core.learning); this module only keeps it. The file holds the
words of customers' letters, so it is written like the store's own files: atomically, 0600.
A missing file is an empty model (nothing learned yet); a damaged or newer one is an error
that says how to start over, never a silent empty model that would forget every lesson on the
next write.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from daemon.adapters.storage.files import StorePaths, atomic_write
from daemon.core.learning import Model, from_doc, to_doc
from daemon.errors import ConfigError


def model_path(db: Path) -> Path:
    return StorePaths(db).learned


def load_model(db: Path) -> Model:
    """What was learned for the store `db`; an empty model if nothing was."""
    path = model_path(db)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Model()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the learned model: {exc.strerror}") from exc
    try:
        return from_doc(json.loads(text))
    except ValueError as exc:
        raise ConfigError(
            f"{path}: {exc}; move it aside and relearn (feedbackd learn --category C FILE.eml)"
        ) from exc


def save_model(db: Path, model: Model) -> None:
    """Replace the model file with `model` (atomic, owner-only)."""
    text = json.dumps(to_doc(model), ensure_ascii=False, indent=1) + "\n"
    atomic_write(model_path(db), text)


@contextmanager
def _locked(db: Path) -> Iterator[None]:
    """Hold `STORE.learned.json.lock` while the model is read and written again, so the daemon
    learning a correction and `feedbackd learn` at the same moment both keep their lessons."""
    lock = Path(f"{model_path(db)}.lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def update_model(db: Path, change: Callable[[Model], Model]) -> Model:
    """Read the model, apply `change`, write the result (unless it is the same); returns it."""
    with _locked(db):
        old = load_model(db)
        new = change(old)
        if new != old:
            save_model(db, new)
        return new
