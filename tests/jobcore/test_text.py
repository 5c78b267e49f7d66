"""Text normalization reads numbers, dates, titles and addresses as words; splitting and chunking lose nothing."""
import random
import re

import pytest

from jobcore.text import chunk_text, normalize, split_sentences

CASES = [
    # currency
    ("It costs $12.50.", "It costs twelve dollars and fifty cents."),
    ("It costs $1.", "It costs one dollar."),
    ("Only $0.99!", "Only ninety nine cents!"),
    ("£5 or €20", "five pounds or twenty euros"),
    ("£1.01", "one pound and one penny"),
    ("$2,500,000", "two million five hundred thousand dollars"),
    ("$3 million", "three million dollars"),
    ("$1.5 billion", "one point five billion dollars"),
    # percent, ordinals, years, decimals, cardinals
    ("50% off", "fifty percent off"),
    ("up 2.5% today", "up two point five percent today"),
    ("it fell -7.5%", "it fell minus seven point five percent"),
    ("the 5th, 21st and 3rd", "the fifth, twenty first and third"),
    ("in 1999", "in nineteen ninety nine"),
    ("2024 was busy.", "twenty twenty four was busy."),
    ("in 1905", "in nineteen oh five"),
    ("in 2000", "in two thousand"),
    ("the 1990s", "the nineteen nineties"),
    ("pi is 3.14", "pi is three point one four"),
    (".5 left", "zero point five left"),
    ("1,250 people", "one thousand two hundred and fifty people"),
    ("-5 degrees", "minus five degrees"),
    ("42", "forty two"),
    ("007", "zero zero seven"),
    ("v1.2.3", "v one point two point three"),
    ("MP3", "MP three"),
    # times and dates
    ("Meet at 7:45 pm on Jan. 5th, 2024.", "Meet at seven forty five P.M. on January fifth, twenty twenty four."),
    ("at 12:00", "at twelve o'clock"),
    ("Sept. 3 was fun.", "September third was fun."),
    ("I was born in Dec. 1999.", "I was born in December nineteen ninety nine."),
    ("12/25/2024", "December twenty fifth, twenty twenty four"),
    ("2024-03-01", "March first, twenty twenty four"),
    # titles and street names
    ("Dr. Smith lives on Main St.", "Doctor Smith lives on Main Street."),
    ("Visit St. Mary's Church on Baker St. Then rest.", "Visit Saint Mary's Church on Baker Street. Then rest."),
    ("Go to St. James St. now.", "Go to Saint James Street now."),
    ("Mulholland Dr. is long.", "Mulholland Drive is long."),
    ("Mr. and Mrs. Smith", "Mister and Missus Smith"),
    ("John Smith Jr. He won.", "John Smith Junior. He won."),
    ("Acme Inc. They win.", "Acme Incorporated. They win."),
    ("e.g. cats, i.e. pets, etc.", "for example cats, that is pets, et cetera."),
    ("Henry VIII", "Henry the eighth"),
    ("No. 7", "Number seven"),
    # URLs, e-mail, phone numbers
    ("See https://example.com/docs.", "See example dot com slash docs."),
    ("https://www.example.com/", "example dot com"),
    ("Mail bob.smith@example.org now.", "Mail bob dot smith at example dot org now."),
    ("email jane_doe@mail.co.uk", "email jane underscore doe at mail dot co dot uk"),
    ("Call 555-123-4567.", "Call five five five, one two three, four five six seven."),
    ("call 020-7946-0958 or 555-1234.", "call zero two zero, seven nine four six, zero nine five eight or five "
                                        "five five, one two three four."),
    ("(see x.com) -- fine", "(see x dot com) — fine"),
    # hibari reads these as 'King the zerothCharles', 'Mark 0Cuban', 'Class 100'
    ("King Charles III spoke", "King Charles the third spoke"),
    ("Queen Victoria and Mark Cuban", "Queen Victoria and Mark Cuban"),
    ("Class C, Chapter XII", "Class C, Chapter twelve"),
    ("On Tues. Feb. 14th, 2023", "On Tuesday February fourteenth, twenty twenty three"),
    # units, ranges, symbols
    ("10km at 5°C", "ten kilometers at five degrees Celsius"),
    ("pages 10-20", "pages ten to twenty"),
    ("A & B", "A and B"),
    # whitespace, line breaks, quotes
    ("He said:\n\nHello there\nworld.\nNext line", "He said: Hello there world. Next line"),
    ("Title\n\nBody text", "Title. Body text"),
    ("- eggs\n- milk", "eggs. milk"),
    ("Line\u00a0one\u200b\ttwo\x00", "Line one two"),
    ("\u201cQuote\u201d and \u2018single\u2019", "\"Quote\" and 'single'"),
    ("", ""),
    (" \n\t ", ""),
]


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_normalize_table(raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_normalize_is_idempotent_on_table(raw, expected):
    assert normalize(expected) == expected


FUZZ_TOKENS = ["Dr.", "St.", "Mr.", "Jan.", "Sept.", "e.g.", "etc.", "Inc.", "https://a.b/c", "www.", "x@y.com",
               ".com", "$", "£", "€", "%", "-", "–", "—", "…", ".", ",", "!", "?", ":", "'", '"', "\u201c", "\n",
               "\n\n", "\t", "\x00", "\u200b", "\ud800", "é", "ß", "٣", "²", "½", "°", "#", "&", "@", "/", "1,250",
               "3.14", "1999", "2024", "5th", "90s", "7:45", "pm", "12/25/2024", "555-123-4567", "VIII", "Henry",
               "Baker", "km", "0", "12", "9" * 40, "+", "(", ")", "~", "=", "<", "*", "_", "\\", "|", "^", "x", "I"]


def _fuzz_strings(n=300, seed=1234):
    rng = random.Random(seed)
    for _ in range(n):
        parts = []
        for _ in range(rng.randrange(0, 14)):
            if rng.random() < 0.7:
                parts.append(rng.choice(FUZZ_TOKENS))
            else:
                parts.append("".join(chr(rng.randrange(1, 0x3000)) for _ in range(rng.randrange(1, 4))))
            parts.append(" " if rng.random() < 0.5 else "")
        yield "".join(parts)


def test_normalize_never_raises_is_idempotent_and_leaves_no_digits(caplog):
    huge = ["9" * 400 + "th", "1" + "0" * 400 + "s", "9" * 5000, "$" + "9" * 50 + ".99", "1,000,000,000,000,000,000,000"]
    for raw in list(_fuzz_strings()) + huge:
        once = normalize(raw)
        assert isinstance(once, str)
        assert normalize(once) == once, raw
        assert not any(c.isdecimal() for c in once), (raw, once)
        assert "\n" not in once and once == once.strip()
    assert not [r for r in caplog.records if r.name == "jobcore.text"]  # never needed the fallback


def test_split_sentences_abbreviation_aware():
    text = ("Dr. Smith met Mr. Jones. They talked! Did they? Yes… Then Mrs. Brown came. J. K. Rowling wrote it. "
            "Pi is 3.14 roughly. See e.g. this and i.e. that, etc. and more. It ended etc. Then Jan. 5 came.")
    assert split_sentences(text) == [
        "Dr. Smith met Mr. Jones.", "They talked!", "Did they?", "Yes…", "Then Mrs. Brown came.",
        "J. K. Rowling wrote it.", "Pi is 3.14 roughly.", "See e.g. this and i.e. that, etc. and more.",
        "It ended etc.", "Then Jan. 5 came."]


@pytest.mark.parametrize(("text", "expected"), [
    ('He said "Stop." Then left.', ['He said "Stop."', "Then left."]),
    ("Line one\nLine two\n\nPara two. (Aside.) End", ["Line one", "Line two", "Para two.", "(Aside.)", "End"]),
    ("wrapped line\ncontinues here.  Ok", ["wrapped line continues here.", "Ok"]),
    ("Wait... what? No...  Really.", ["Wait... what?", "No...", "Really."]),
    ("It was in St. Louis. Next.", ["It was in St. Louis.", "Next."]),
    ("one two three", ["one two three"]),
    ("", []),
    ("  \n\n ", []),
])
def test_split_sentences_cases(text, expected):
    assert split_sentences(text) == expected


def test_split_sentences_loses_no_content():
    for raw in list(_fuzz_strings(200, seed=7)) + [CASES[i][0] for i in range(len(CASES))]:
        assert " ".join(split_sentences(raw)) == " ".join(raw.split()), raw


def test_split_sentences_of_normalized_text():
    text = normalize("Dr. Smith paid $12.50 on Jan. 5th, 2024. St. Mary's was closed! Was it? Yes.")
    assert split_sentences(text) == ["Doctor Smith paid twelve dollars and fifty cents on January fifth, "
                                      "twenty twenty four.", "Saint Mary's was closed!", "Was it?", "Yes."]


def test_chunk_text_packs_sentences_and_splits_long_ones_at_clauses():
    text = "Hello there. This is a much longer sentence, with clauses; and more: stuff — that goes on. Short."
    assert chunk_text(text, 30) == ["Hello there.", "This is a much longer", "sentence, with clauses;",
                                    "and more: stuff —", "that goes on. Short."]
    assert chunk_text(text, 1000) == [text]
    assert chunk_text("One. Two. Three.", 9) == ["One. Two.", "Three."]


def test_chunk_text_hard_cuts_only_a_word_longer_than_the_limit():
    assert chunk_text("Supercalifragilistic is long.", 10) == ["Supercalif", "ragilistic", "is long."]
    assert chunk_text("", 10) == [] and chunk_text(" \n ", 10) == []
    with pytest.raises(ValueError):
        chunk_text("x", 0)


def test_chunk_text_invariants_on_random_text():
    rng = random.Random(42)
    vocab = ["the", "cat", "sat", "on", "a", "mat", "Dr.", "Smith", "e.g.", "3.14", "quickly", "brown",
             "extraordinarily", "x", "Jan.", "5"]
    enders = ["", "", "", "", ",", ";", ":", " —", ".", "!", "?", "…", "\n", "\n\n"]
    for _ in range(60):
        text = " ".join(rng.choice(vocab) + rng.choice(enders) for _ in range(rng.randrange(1, 400)))
        for max_chars in (16, 40, 100, 250):
            chunks = chunk_text(text, max_chars)
            assert all(0 < len(c) <= max_chars for c in chunks)
            assert all(c == c.strip() and not re.search(r"\s\s", c) for c in chunks)
            assert " ".join(chunks).split() == text.split()
