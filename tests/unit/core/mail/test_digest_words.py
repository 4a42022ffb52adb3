"""Reading one digest words file: every mistake at its line, a missing key said in English."""

from __future__ import annotations

from daemon.core.mail.digest_words import ENGLISH, parse_digest_words


def parse(text: str, language: str = "de"):
    return parse_digest_words(text, "templates/digest.de.yaml", language)


def test_a_file_gives_its_words_and_english_for_the_keys_it_lacks() -> None:
    words, problems = parse('subject: "Rückmeldungen {period}"\ncategories:\n  thanks: Dank\n')
    assert problems == []
    assert words.language == "de" and words["subject"] == "Rückmeldungen {period}"
    assert words["more"] == ENGLISH["more"] and "more" in words.missing
    assert "subject" not in words.missing
    assert words.category("thanks") == "Dank" and words.category("vip") == "vip"


def test_every_mistake_is_reported_at_its_line_and_the_english_kept() -> None:
    text = "\n".join(
        [
            'subject: "Digest {perod}"',  # 1: not filled
            "sujbect: x",  # 2: unknown key
            "none: no",  # 3: YAML reads a boolean
            'more: "and {n more"',  # 4: a lone brace
            'footer: "{start}..{end} {{literal}}"',  # 5: fine
            'late: "{whatever}"',  # 6: never formatted: braces are text
            "categories: [a, b]",  # 7: not a mapping
        ]
    )
    words, problems = parse(text + "\n")
    found = {(p.line, p.message.split(":")[0]) for p in problems}
    assert {line for line, _ in found} == {1, 2, 3, 4, 7}
    by_line = {p.line: p.message for p in problems}
    assert "{perod} is not filled here; use {period}" in by_line[1]
    assert "unknown key 'sujbect'; did you mean 'subject'?" in by_line[2]
    assert "write the text in quotes" in by_line[3]
    assert "write {{ or }}" in by_line[4]
    assert all(p.file == "templates/digest.de.yaml" for p in problems)
    assert words["subject"] == ENGLISH["subject"] and words["none"] == ENGLISH["none"]
    assert words["footer"] == "{start}..{end} {{literal}}" and words["late"] == "{whatever}"


def test_a_yaml_error_or_a_list_is_one_located_problem() -> None:
    _, problems = parse('subject: "open\n')
    assert [p.message.startswith("YAML syntax error") for p in problems] == [True]
    _, problems = parse("- a\n- b\n")
    assert [p.line for p in problems] == [1]
