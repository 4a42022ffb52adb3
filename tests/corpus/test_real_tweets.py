"""The default rules on real customer tweets labelled by hand for intent, kept out of rule writing.

tests/data/real-labels/heldout.tsv (labels; the texts are read in place from
$FEEDBACKD_CORPUS/feedback/real-dev, never copied here) was labelled by a reader who never saw
the rules, and the rules were never tuned on it: these floors are what the rules reached on it
when they were written against dev.tsv, less a margin of a few tweets, so a regression fails.
`python bench/bench_rules.py` prints the same figures. Do not tune rules on the held-out misses.

Missing corpus or labels: a skip on a developer's machine, a failure under CI=true.
"""

from __future__ import annotations

import os
import sys

import pytest
from support import CORPUS, REPO

from daemon.adapters.config import load_rulebook

sys.path.insert(0, str(REPO / "bench"))
from real_tweets import LABELS_DIR, labelled, score

#: Held-out figures of today's rules on both draws' held-out rows (en: 150 complaints, 72 thanks,
#: 69 neither; ru: 89, 19, 239). Draw 2 (800 more tweets, labelled after the rules were written)
#: brought them down from draw 1's alone (en caught 75.6 %, ru 68.2 %): the rules had been fitted
#: to draw 1's dev rows. The problem-report classes of 2026-12-02 (questions that complain, waits
#: in time, a service thing missing, …) raised caught from 71.3 % (en) and 57.3 % (ru); Russian
#: praise alone needing two praises raised Russian thanks precision (3 of 4 decisions, from 8 of
#: 21) and neither kept out (from 83.7 %). Praise beside trouble sent to the center (issue 16:
#: sarcasm, a closing question, trouble nobody put right) took English complaint→thanks from
#: 6.0 %, thanks precision from 71.2 % and neither kept out from 72.5 %. The floor each figure is
#: held to, a few tweets below.
REACHED = {
    "en": {"caught": 0.733, "complaint_to_thanks": 0.040, "neither_out": 0.754, "thanks": 0.750},
    "ru": {"caught": 0.652, "complaint_to_thanks": 0.0, "neither_out": 0.883, "thanks": 0.750},
}
FLOOR = {
    "en": {"caught": 0.69, "complaint_to_thanks": 0.06, "neither_out": 0.71, "thanks": 0.70},
    "ru": {"caught": 0.60, "complaint_to_thanks": 0.03, "neither_out": 0.85, "thanks": 0.50},
}


def heldout_or_skip() -> list:
    where = CORPUS / "feedback" / "real-dev"
    missing = [p for p in (where, LABELS_DIR / "heldout.tsv") if not p.exists()]
    if missing:
        why = f"not found: {', '.join(map(str, missing))} (set FEEDBACKD_CORPUS)"
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    return labelled(CORPUS, "heldout")


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_held_out_real_tweets_stay_at_the_level_reached(lang: str) -> None:
    figures = score(load_rulebook(REPO / "rules.yaml"), heldout_or_skip(), lang)
    floor = FLOOR[lang]
    assert figures.caught is not None and figures.caught >= floor["caught"], figures
    assert figures.complaint_to_thanks is not None
    assert figures.complaint_to_thanks <= floor["complaint_to_thanks"], figures
    assert figures.neither_out is not None and figures.neither_out >= floor["neither_out"], figures
    assert figures.thanks_precision is not None
    assert figures.thanks_precision >= floor["thanks"], figures
