"""Rules read through libyaml give what the pure-Python parser gives: values, lines, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from support import REPO

from daemon.core.rules import yamlsrc
from daemon.core.rules.yamlsrc import Map, Report, Seq, load_yaml


def shape(value: Any) -> Any:
    """The value with every line it carries, for comparing two readings."""
    if isinstance(value, Map):
        return ("map", value.line, {k: (value.line_of(k), shape(v)) for k, v in value.items()})
    if isinstance(value, Seq):
        return ("seq", value.line, value.lines, [shape(v) for v in value])
    return value


def read(text: str, fast: object) -> tuple[Any, list[str]]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(yamlsrc, "_FAST", fast)
        report = Report("rules.yaml")
        value = load_yaml(text, report)
    return shape(value), [str(p) for p in report.problems]


SAMPLES = [
    (REPO / "rules.yaml").read_text(encoding="utf-8"),
    "a: &x {b: 1, c: [2, 3]}\nd: *x\ne: |\n  two\n  lines\nf: 2026-03-02\ng: ~\nh: 'да'\n",
    "a: 1\na: 2\n<<: {b: 3}\n",  # a duplicate and a merge key: reported, with their lines
    "a: [1, 2\nb: 3\n",  # a syntax error: told in the pure parser's words
    "a:\n  - b\n   c: d\n",
]


@pytest.mark.skipif(not hasattr(yaml, "CSafeLoader"), reason="PyYAML built without libyaml")
@pytest.mark.parametrize("text", SAMPLES, ids=range(len(SAMPLES)))
def test_libyaml_reads_what_the_pure_parser_reads(text: str) -> None:
    assert read(text, yaml.CSafeLoader) == read(text, None)


def test_the_packaged_rules_read_with_their_lines() -> None:
    value, problems = read(Path(REPO / "rules.yaml").read_text(encoding="utf-8"), None)
    assert problems == [] and value[0] == "map"
