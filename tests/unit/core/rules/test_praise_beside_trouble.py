"""Praise or thanks beside a sign that something went wrong is never answered as thanks (issue
16): when no complaint rule takes such a letter it goes to the center (`unclassified`). One case
per class, in words written for this test; each was `thanks` before its rule was in rules.yaml."""

import pytest
from support import REPO

from daemon.adapters.config import load_rulebook
from daemon.core.mail.message import make_message
from daemon.core.rules import classify


@pytest.fixture(scope="module")
def book():
    return load_rulebook(REPO / "rules.yaml")


CASES = [
    # praise that trails off on an ellipsis, or winks with "/s": irony
    ("praise-trailing-off", "@shop oh she really enjoys sitting next to the bins...."),
    ("praise-trailing-off", "lovely way to start a holiday /s"),
    # thanks, and the letter ends on a question: the question is what it is about
    ("thanks-with-a-question", "@telco thanks, will the shop on Main Street open tomorrow?"),
    # praise beside trouble that nobody says was put right
    ("praise-beside-trouble", "Kudos to the driver for staying calm through all the delays"),
    ("praise-beside-trouble", "Nice people at the desk, the upgrade issues are a pity"),
    # thanks in a letter that reports a problem the complaint rules left to thanks (English)
    ("thanks-beside-a-report", "Lovely crew, thank you! The seat screens did not work at all."),
]


@pytest.mark.parametrize(("rule", "text"), CASES)
def test_praise_beside_trouble_goes_to_the_center(book, rule, text):
    d = classify(make_message(body=text), book)
    assert (d.category, d.rule) == ("unclassified", rule)


KEPT = [
    # the trouble was put right: praise for the fix stays thanks
    "Thank you for rebooking me so fast after the delay, you saved my trip!",
    "The order was lost but Anna found it and delivered it the same day. Brilliant, thank you!",
    "Many thanks, the parcel did not arrive on Monday, then Anna found it and brought it round"
    " herself. Wonderful service",
    "hi, no complaints at all, the parcel came early and better packed than by another company."
    " thanks guys",
    # a concession before praise stays thanks
    "Excellent service with a few minor issues, thank you",
    # an ellipsis inside the letter, not at its end
    "Well... the repair was quick and the staff were wonderful. Thank you!",
]


@pytest.mark.parametrize("text", KEPT)
def test_praise_for_what_was_put_right_stays_thanks(book, text):
    assert classify(make_message(body=text), book).category == "thanks"
