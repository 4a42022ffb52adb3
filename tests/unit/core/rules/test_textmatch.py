"""Normalisation, word forms and negation: the alphabet rules and messages meet in."""

from daemon.core.rules.textmatch import Negation, Pattern, Text, normalize

NEG = Negation(frozenset({"не", "нет", "no", "not", "never", "don't"}), frozenset({"нет"}), 3)


def test_cyrillic_case_folding_and_yo():
    assert normalize("ПРЕТЕНЗИЯ Ёлка") == "претензия елка"
    assert normalize("Отчёт") == normalize("ОТЧЕТ")


def test_nfkc_and_apostrophes():
    assert normalize("ｆｕｌｌ　ｗｉｄｔｈ") == "full width"
    assert Text("I don’t like it").words == ["i", "don't", "like", "it"]


def test_whole_words_only():
    text = Text("Суд отклонил иск")
    assert Pattern("суд").find(text) == [(0, 1)]
    assert Pattern("иск").find(Text("поиск работы")) == []


def test_word_form_prefix_matches_every_ending():
    for form in ("претензия", "претензию", "ПРЕТЕНЗИЕЙ", "претензий"):
        assert Pattern("претензи*").find(Text(f"направляю {form}")), form
    assert not Pattern("претензи*").find(Text("претендент"))


def test_phrase_with_word_forms():
    p = Pattern("закон* о защите прав потребителей")
    assert p.find(Text("Согласно Закону «О защите прав потребителей»")) == [(1, 6)]
    assert p.find(Text("закон о защите животных")) == []


def test_negation_before_and_after_in_same_clause():
    text = Text("Претензий нет. Товар не работает, но no problem")
    words = text.words
    assert text.negated(0, 1, NEG)  # "претензий нет"
    assert text.negated(words.index("работает"), words.index("работает") + 1, NEG)
    assert text.negated(words.index("problem"), words.index("problem") + 1, NEG)
    assert not text.negated(words.index("товар"), words.index("товар") + 1, NEG)


def test_negation_stops_at_clause_end_and_window():
    text = Text("Не знаю. Жалоба на курьера")
    assert not text.negated(text.words.index("жалоба"), 3, NEG)
    far = Text("no one two three four problem")
    assert not far.negated(5, 6, NEG)


def test_a_handle_or_an_identifier_is_no_word():
    text = Text("@best_airline_love thanks, my_login works; mail me at anna@love.example")
    assert text.words == ["thanks", "my_login", "works", "mail", "me", "at", "anna", "example"]
    assert len(text.clauses) == len(text.words)
