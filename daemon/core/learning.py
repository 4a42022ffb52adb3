"""A small learned fallback: the feedback center's corrections teach what the rules missed.

Like `sa-learn` beside SpamAssassin's rules: every case a person reclassified (or confirmed by
closing it as it was), and every saved mail given to `feedbackd learn --category C`, becomes one
`Example` — its category and the set of words of what the customer wrote. The `Model` is only
those examples (a value: counts are derived from it, nothing is remembered anywhere else), so
learning the same case again replaces its example instead of counting it twice, and
`evaluate` can cross-validate on exactly what was learned.

The classifier is a multinomial logistic regression on binarised words (each word once per
letter, which suits short texts), L2-regularised and fitted by a fixed number of full-batch
gradient steps from zero, so it is deterministic; its confidence is the probability of the best
category. It replaced naive Bayes, whose posteriors on short texts are near 0 or 1 whatever the
evidence: with it, a threshold could not tell a sure complaint from a question that shared two
words with one (bench/bench_learning.py, dev k-fold). `unclassified` ("neither") is a class
like the others, so the model is sure of a complaint only when it beats "neither" too. It
decides only when no rule did (`fallback`), only for a category the rule book has, and only
when the book's `learning:` section allows it (`min_examples`, `min_confidence`). Rules always
win.

Words are cut by one function, `words_of`, through a `Lemmatizer` (one normalised word to its
key); `message_words` takes it from the rule book (`RuleBook.lemmatizer`), so the model sees
the keys the `lemmas:` matchers see: without one, the lower-cased word as written; with a dictionary
lemmatizer, "не работает" and "не работали" are one feature. Lessons keep their keys: a model
learned with one lemmatizer should be relearned after switching to another. Pure: no I/O, no
clock, deterministic (ties are broken by category name, folds by a hash of the example key).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from typing import Any

from daemon.core import cases as lifecycle
from daemon.core.cases import Case
from daemon.core.mail.message import Message
from daemon.core.mail.quoting import split
from daemon.core.rules import UNCLASSIFIED, Decision, Lemmatizer, Reason, RuleBook, classify
from daemon.core.rules.textmatch import normalize, split_words

#: The model file's format; `from_doc` refuses any other (the caller says how to rebuild it).
VERSION = 1
#: The rule name of a decision the model made (shown in `classify`, stored on the case).
LEARNED = "(learned)"
#: Words that turn the next word around: "не работает" is also the feature "не_работает".
NEGATORS = frozenset({"не", "нет", "ни", "not", "no", "never", "cannot", "cant", "dont", "didnt"})
#: Most distinct words one example keeps: a long letter must not outweigh a hundred short ones.
MAX_WORDS = 400
#: How many words `classify` shows as the model's reason.
SHOWN_WORDS = 5


class AsWritten:
    """The default key of a word: the word itself, as normalised."""

    def lemma(self, word: str) -> str:
        return word


#: Links and @handles name a place or a company, never what the writer means.
_NOT_WORDS = re.compile(r"https?://\S+|www\.\S+|@\w+")


def words_of(text: str, lemmatizer: Lemmatizer | None = None) -> tuple[str, ...]:
    """The features of a text: its words' keys, plus `не_X` for a word after a negator, each
    once, sorted. Links, @handles, digits and one-letter words carry no intent: left out."""
    keys = lemmatizer or AsWritten()
    out: set[str] = set()
    before = ""
    for word in split_words(normalize(_NOT_WORDS.sub(" ", text))):
        if len(word) < 2 or word.isdigit():
            before = word if word in NEGATORS else ""
            continue
        key = keys.lemma(word)
        out.add(key)
        if before:
            out.add(f"{before}_{key}")
        before = word if word in NEGATORS else ""
    return tuple(sorted(out)[:MAX_WORDS])


def message_words(message: Message, book: RuleBook) -> tuple[str, ...]:
    """What the model reads of a mail: the subject and what the sender wrote now (the rules'
    `text` field), without quoted history and sign-off, keyed as the book's rules key words.
    Every lesson and every prediction goes through here, so both always see the same keys."""
    return words_of(f"{message.subject}\n{split(message.text).said}", book.lemmatizer)


@dataclass(frozen=True)
class Example:
    """One lesson: `key` names it (a case id, or `file:<sha256>` of a learned file), so the
    same letter learned again replaces its lesson; `source` says where it came from."""

    key: str
    category: str
    words: tuple[str, ...]
    source: str = "learn"  # learn | reclassified | confirmed


@dataclass(frozen=True)
class Prediction:
    category: str
    confidence: float  # posterior probability of `category`, 0..1
    words: tuple[str, ...] = ()  # the words that spoke most for it


#: The logistic regression's training: L2 penalty (a Gaussian prior on each weight: a word seen
#: in two lessons must not decide alone), step size and number of full-batch gradient steps.
#: Fixed, so the same lessons always give the same weights (no random start, no early stop).
PENALTY = 1.0
STEP = 2.0
STEPS = 60
#: Letters with more features than this count each feature less (sqrt(FULL_WEIGHT / n)), so
#: a long letter weighs as much as a short one and the fixed step stays stable.
FULL_WEIGHT = 32


def _weight(n: int) -> float:
    return 1.0 if n <= FULL_WEIGHT else math.sqrt(FULL_WEIGHT / n)


@dataclass(frozen=True)
class _Weights:
    categories: tuple[str, ...]
    bias: tuple[float, ...]
    words: Mapping[str, tuple[float, ...]]  # a word's weight for each category


@lru_cache(maxsize=8)
def _train(examples: tuple[Example, ...]) -> _Weights:
    """Multinomial logistic regression fitted by gradient descent on the mean log loss plus
    PENALTY/2 * |w|^2 (the bias unpenalised). Cached: the daemon reads the same lessons anew
    every cycle, and they train once per process."""
    cats = tuple(sorted({ex.category for ex in examples}))
    vocab = sorted({w for ex in examples for w in ex.words})
    index = {w: i for i, w in enumerate(vocab)}
    rows = [([index[w] for w in ex.words], _weight(len(ex.words))) for ex in examples]
    wanted = [cats.index(ex.category) for ex in examples]
    n, k = len(examples), len(cats)
    weights = [[0.0] * len(vocab) for _ in cats]
    bias = [0.0] * k
    for _ in range(STEPS):
        grad = [[0.0] * len(vocab) for _ in cats]
        grad_bias = [0.0] * k
        for (features, x), y in zip(rows, wanted, strict=True):
            scores = [bias[c] + x * sum(weights[c][j] for j in features) for c in range(k)]
            top = max(scores)
            exps = [math.exp(v - top) for v in scores]
            norm = sum(exps)
            for c in range(k):
                g = exps[c] / norm - (1.0 if c == y else 0.0)
                grad_bias[c] += g
                row, gx = grad[c], g * x
                for j in features:
                    row[j] += gx
        for c in range(k):
            bias[c] -= STEP * grad_bias[c] / n
            row, g_row = weights[c], grad[c]
            for j in range(len(vocab)):
                row[j] -= STEP * (g_row[j] + PENALTY * row[j]) / n
    words = {w: tuple(weights[c][i] for c in range(k)) for w, i in index.items()}
    return _Weights(cats, tuple(bias), words)


@dataclass(frozen=True)
class Model:
    """Everything learned: the examples, sorted by key. The weights are derived (trained when
    first asked, once per process for the same lessons), never stored."""

    examples: tuple[Example, ...] = ()

    @cached_property
    def _weights(self) -> _Weights:
        """The trained weights, looked up once per model: the lessons' cache key is the whole
        tuple of examples, hashed anew on every lookup, and a model predicts once per letter."""
        return _train(self.examples)

    @property
    def categories(self) -> dict[str, int]:
        """Examples per category."""
        return dict(sorted(Counter(ex.category for ex in self.examples).items()))

    def predict(self, words: Iterable[str], allowed: Iterable[str] | None = None) -> Prediction:
        """The most probable category of a letter with these words, and how sure the model
        is: its probability among the `allowed` categories learned. Words never seen in
        learning are ignored; no examples: unclassified at 0."""
        if not self.examples:
            return Prediction(UNCLASSIFIED, 0.0)
        trained = self._weights
        wanted = None if allowed is None else set(allowed)
        cats = [i for i, c in enumerate(trained.categories) if wanted is None or c in wanted]
        if not cats:
            return Prediction(UNCLASSIFIED, 0.0)
        seen = [w for w in dict.fromkeys(words) if w in trained.words]
        x = _weight(len(seen))
        scores = {c: trained.bias[c] + x * sum(trained.words[w][c] for w in seen) for c in cats}
        best = max(cats, key=lambda c: (scores[c], -c))  # a tie: the first category by name
        top = scores[best]
        confidence = 1.0 / sum(math.exp(v - top) for v in scores.values())
        others = [c for c in cats if c != best]
        lift = {
            w: trained.words[w][best] - max((trained.words[w][o] for o in others), default=0.0)
            for w in seen
        }
        shown = sorted((w for w in seen if lift[w] > 0), key=lambda w: (-lift[w], w))
        return Prediction(trained.categories[best], confidence, tuple(shown[:SHOWN_WORDS]))


#: The store's meta key of a case's words, kept when it opens for a later lesson.
WORDS_KEY = "words:{}"


def lesson(case: Case, words: Iterable[str]) -> Example | None:
    """What a case teaches, judged by the last thing that happened to it (None: nothing yet).

    - `reclassified`: a person said what it really is — the new category.
    - `closed` by a person (an owner's command, the center, the command line), never
      reclassified: a *confirmed* case — the category it was given was right, or nobody
      would have closed it as it was. Closings by feedbackd itself (bulk history, imports) and
      cases still `unclassified` teach nothing.
    """
    if not case.events or lifecycle.is_history(case):
        return None
    last = case.events[-1]
    if last.what == "reclassified":
        return Example(case.id, case.category, tuple(words), "reclassified")
    if last.what != "closed" or last.who == "feedbackd" or "reason" in last.data:
        return None
    if case.category == UNCLASSIFIED or any(e.what == "reclassified" for e in case.events):
        return None
    return Example(case.id, case.category, tuple(words), "confirmed")


def learn(model: Model, example: Example) -> Model:
    """The model with `example` learned (replacing an earlier lesson of the same key)."""
    kept = {ex.key: ex for ex in model.examples}
    kept[example.key] = example
    return Model(tuple(kept[k] for k in sorted(kept)))


def forget(model: Model, key: str) -> Model:
    return Model(tuple(ex for ex in model.examples if ex.key != key))


@dataclass(frozen=True)
class Evaluation:
    """k-fold cross-validated accuracy on what was learned."""

    folds: int
    total: int
    correct: int
    per_category: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # (right, of)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0


def fold_of(key: str, folds: int) -> int:
    """The fold of an example: a hash of its key, the same in every run and every process."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % folds


def evaluate(model: Model, folds: int = 5) -> Evaluation:
    """Train on all folds but one, test on that one, for each fold; count the right answers."""
    right: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    groups: dict[int, list[Example]] = {}
    for ex in model.examples:
        groups.setdefault(fold_of(ex.key, folds), []).append(ex)
    for fold, tested in sorted(groups.items()):
        trained = Model(tuple(ex for ex in model.examples if fold_of(ex.key, folds) != fold))
        for ex in tested:
            seen[ex.category] += 1
            if trained.predict(ex.words).category == ex.category:
                right[ex.category] += 1
    per = {c: (right[c], seen[c]) for c in sorted(seen)}
    return Evaluation(folds, sum(seen.values()), sum(right.values()), per)


@dataclass(frozen=True)
class LearnedDecision:
    """What the fallback said about a message no rule decided: the prediction, and whether it
    was sure enough to decide (`decided`)."""

    prediction: Prediction
    decided: bool
    why_not: str = ""


def consult(model: Model, message: Message, book: RuleBook) -> LearnedDecision | None:
    """The model's opinion of a message; None when the book has no `learning:` section."""
    settings = book.learning
    if settings is None:
        return None
    allowed = list(book.categories)  # lessons of `unclassified` ("neither") count too
    prediction = model.predict(message_words(message, book), allowed)
    counts = model.categories
    learned = sum(counts.get(c, 0) for c in allowed)
    if learned < settings.min_examples or len([c for c in allowed if c in counts]) < 2:
        why = (
            f"learned {learned} example(s) of {len(counts)} category(ies); it decides from "
            f"{settings.min_examples} examples of at least 2 categories (learning.min_examples)"
        )
        return LearnedDecision(prediction, False, why)
    if prediction.confidence < settings.min_confidence:
        shown = shown_below(prediction.confidence, settings.min_confidence)
        why = f"{shown} is below learning.min_confidence"
        return LearnedDecision(prediction, False, f"{why} {settings.min_confidence:g}")
    return LearnedDecision(prediction, True)


def shown_below(confidence: float, limit: float) -> str:
    """`confidence` with two decimals, or as many more (up to six) as it takes not to read as
    `limit` or above: 0.9985 under a limit of 0.999 is "0.9985", not "1.00"."""
    digits = 2
    while digits < 6 and round(confidence, digits) >= limit:
        digits += 1
    return f"{confidence:.{digits}f}"


def reason(prediction: Prediction) -> Reason:
    """The model's decision told like a rule's: `learned: 0.93, words жалоба, не_работает`."""
    words = ", ".join(prediction.words) or "(none stood out)"
    return Reason("text", "learned", f"{prediction.confidence:.2f}, words {words}")


Classify = Callable[[Message, RuleBook], Decision]


def fallback(model: Model, rules: Classify = classify) -> Classify:
    """A classifier: the `rules`, then — only if none decided — the model, when it is sure."""

    def decide(message: Message, book: RuleBook) -> Decision:
        decision = rules(message, book)
        if decision.category != UNCLASSIFIED or not model.examples:
            return decision
        said = consult(model, message, book)
        if said is None or not said.decided or said.prediction.category == UNCLASSIFIED:
            return decision
        category = book.categories[said.prediction.category]
        owner = category.owner or book.center
        return Decision(category.name, LEARNED, owner, (), (reason(said.prediction),))

    return decide


def to_doc(model: Model) -> dict[str, Any]:
    """The model file's document (JSON): versioned, examples in key order, so the same lessons
    always write the same bytes."""
    return {
        "format": "feedbackd-learned",
        "version": VERSION,
        "examples": [
            {"key": e.key, "category": e.category, "source": e.source, "words": list(e.words)}
            for e in model.examples
        ],
    }


def from_doc(doc: Any) -> Model:
    """A model from its document; ValueError saying what is wrong with it otherwise."""
    if not isinstance(doc, dict) or doc.get("format") != "feedbackd-learned":
        raise ValueError("not a feedbackd model file")
    if doc.get("version") != VERSION:
        found = doc.get("version")
        raise ValueError(f"model format version {found!r}; this feedbackd reads {VERSION}")
    out = Model()
    for item in doc.get("examples", ()):
        try:
            ex = Example(
                str(item["key"]),
                str(item["category"]),
                tuple(str(w) for w in item["words"]),
                str(item.get("source", "learn")),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"damaged example {item!r:.80}: {exc}") from exc
        out = replace(out, examples=(*out.examples, ex))
    return Model(tuple(sorted(out.examples, key=lambda e: e.key)))
