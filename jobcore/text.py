"""English text normalization for speech, sentence splitting and chunking to a backend's limit."""
import logging
import re
import unicodedata

from hibari.g2p.normalize import ABBREV, MONTHS, ROMAN_CARDINAL, ROMAN_ORDINAL, normalize as hibari_normalize
from num2words import num2words

log = logging.getLogger(__name__)

# --- (a) cleanup -------------------------------------------------------------------------------
_CHARMAP = str.maketrans({"‘": "'", "’": "'", "‚": "'", "ʼ": "'", "′": "'", "“": '"', "”": '"', "„": '"',
                          "″": '"', "«": '"', "»": '"', "‐": "-", "‑": "-", "‒": "-", "−": "-", "―": "—",
                          "\t": " ", "\u2028": "\n", "\u2029": "\n\n"})
_RE_BULLET = re.compile(r"^[-*•·▪◦‣]+ ")
_RE_PUNCT_RUN = re.compile(r"([^\w\s])\1{3,}")
_RE_LINE_END = re.compile(r"[.!?…:;,—–-][\"')\]]*$")


def _clean(text):
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace(" -- ", " — ").translate(_CHARMAP)
    text = "".join(c for c in text if c == "\n" or unicodedata.category(c)[0] != "C")
    text = _RE_PUNCT_RUN.sub(r"\1\1\1", text)      # '!!!!!!!' reads as '!!!'; long runs cost time, say nothing
    parts, last, blank = [], "", False
    for line in text.split("\n"):
        line = " ".join(line.split())
        bullet, line = bool(_RE_BULLET.match(line)), _RE_BULLET.sub("", line)
        if not line:
            blank = True
            continue
        if parts:  # a blank line, a list item or a line not continuing a wrapped sentence ends the sentence
            # only the line before can end a sentence (lines are joined by a space): searching all of the text
            # so far on every line made 10,000 short lines take seconds
            if (blank or bullet or not line[0].islower()) and not _RE_LINE_END.search(last):
                parts.append(".")
            parts.append(" ")
        parts.append(line)
        last, blank = line, False
    return "".join(parts)


# --- (b) URLs and e-mail addresses ---------------------------------------------------------------
# Linear time: an e-mail match starts only where a run of address characters starts (never retried inside
# the run; group 1, the run's leading punctuation, is kept as is); a domain's labels are bounded (DNS allows
# 63 characters, we take 9 labels), which caps the work at each start.
_RE_EMAIL = re.compile(r"(?:mailto:)?(?<![\w.%+-])([.%+-]*+)"
                       r"(\w[\w.%+-]*+@[A-Za-z0-9-]++(?:\.[A-Za-z0-9-]++)*\.[A-Za-z]{2,}\b)")
_RE_URL = re.compile(
    r"\b(?:(?i:https?|ftp)://|www\.)[^\s<>\"'()]*[^\s<>\"'().,;:!?]"
    r"|\b[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.(?:com|org|net|edu|gov|io|ai|dev|app|co|uk|us|de|fr|info)\b"
    r"(?:/[^\s<>\"'()]*[^\s<>\"'().,;:!?])?/?")
_URL_SYMBOLS = {".": "dot", "/": "slash", "@": "at", ":": "colon", "-": "dash", "_": "underscore", "?": "question mark",
                "=": "equals", "&": "and", "#": "hash", "%": "percent", "~": "tilde", "+": "plus"}


def _say_url(m):
    s = m if isinstance(m, str) else m.group(0)
    s = re.sub(r"^(?:mailto:|(?:https?|ftp)://)?(?:www\.)?", "", s, flags=re.I).rstrip("/")
    return " " + re.sub(r"[./@:_?=&#%~+-]", lambda c: f" {_URL_SYMBOLS[c.group()]} ", s) + " "


def _say_email(m):
    return m.group(1) + _say_url(m.group(2))


# --- (c) abbreviations, phone numbers and names hibari misreads -------------------------------------
def _alt(words):
    return "|".join(map(re.escape, sorted(words, key=len, reverse=True)))


_MONTHS = {k.capitalize(): v for k, v in MONTHS.items() if k != "may"} | {"Sept": "September"}
_RE_MONTH = re.compile(rf"\b({_alt(_MONTHS)})\.")
_LATIN = {"e.g.": "for example", "i.e.": "that is", "etc.": "et cetera"}
_RE_LATIN = re.compile(r"(?<![\w.])(e\.g\.|i\.e\.|etc\.)", re.I)
_RE_HONORIFIC = re.compile(r"\b(Mrs|Mr|Ms)\b\.?")
_HONORIFIC = {"Mr": "Mister", "Mrs": "Missus", "Ms": "Miz"}
_RE_DR_ST = re.compile(r"\b(Dr|St)\b(\.?)")
_DR_ST = {"Dr": ("Doctor", "Drive"), "St": ("Saint", "Street")}
# abbreviations that often end a sentence: hibari expands them but swallows that sentence's period
_FINAL = [k for k in ABBREV if k[:-1] in "Jr Sr Inc Ltd Co Corp Bros Ave Blvd Rd Ln Hwy Pkwy Dept Univ Govt".split()]
_RE_FINAL = re.compile(rf"(?<![\w.])({_alt(_FINAL)})(?=\s+[\"'(]?[A-Z]|\s*$)")
_RE_SENT_START = re.compile(r"(?:^|[!?]|(?<!\bSt)(?<!\bDr)(?<!\bMr)(?<!\bMs)(?<!\bMrs)\.)\s*$")
_RE_LEADING_DOT = re.compile(r"(?<![\w.])\.(?=\d)")
_RE_PHONE = re.compile(r"(?<![\w.\-])(?:(?!\d{4}-\d\d-\d\d\b)\d{2,4}(?:-\d{2,4}){2,}|\d{3}-\d{4})(?![\w\-]|\.\d)")
# 8+ comma groups is no number anyone reads (> 10^24); hibari's number patterns re-read such a chain from
# every comma, so it becomes a list of groups first
_RE_LONG_GROUPS = re.compile(r"(?<![\d,])\d++(?:,\d++){8,}")
_RE_ROMAN_NAME = re.compile(rf"\b(?:{_alt(ROMAN_CARDINAL + ROMAN_ORDINAL)}) (?=([IVXLC][\w.'’]*))")


def _ends_sentence(m, word):
    """Keep the period of an abbreviation when it also ends the sentence."""
    nxt = m.string[m.end():].lstrip()[:1]
    return word + "." if not nxt or nxt.isupper() else word


def _roman_guard(m):
    """hibari reads 'King Charles' as 'King the zerothCharles', 'Class C' as 'Class 100'; a word joiner stops it."""
    numeral = re.fullmatch(r"[IVXLCDM]+\.?", m.group(1)) and m.group(1).rstrip(".") not in ("C", "L", "D", "M")
    return m.group(0) + ("" if numeral else "\u2060")


def _dr_st(m):
    """'Dr. Smith' -> Doctor, 'St. Mary's' -> Saint, 'Baker St.'/'Mulholland Dr.' -> Street/Drive."""
    title, place = _DR_ST[m.group(1)]
    before = m.string[max(0, m.start() - 80):m.start()]
    nxt = m.string[m.end():].lstrip()[:1]
    prev = re.search(r"(\S+) +$", before)
    name = bool(prev and re.fullmatch(r"[A-Z][a-z']*|\d+(?:st|nd|rd|th)?", prev.group(1)))
    if nxt.isupper() and not (name and not _RE_SENT_START.search(before[:prev.start()])):
        return title
    if not (m.group(2) or name):
        return m.group(0)
    word = place if name or title == "Saint" else title
    return word + ("." if m.group(2) and (not nxt or nxt.isupper()) else "")


# --- (e) numbers ------------------------------------------------------------------------------------
_INT = r"\d{1,3}(?:,\d{3}){1,7}(?!\d)|\d+"        # bounded: no start re-reads a whole digit run
_RE_CURRENCY = re.compile(rf"(?:(?<![\w.\-])(-))?([$£€]) ?({_INT})(?:\.(\d+))?")
_MONEY = {"$": ("dollar", "dollars", "cent", "cents"), "£": ("pound", "pounds", "penny", "pence"),
          "€": ("euro", "euros", "cent", "cents")}
_RE_PERCENT = re.compile(rf"(?:(?<![\w.\-])(-))?(?<!\d)({_INT})(?:\.(\d+))? ?%")
_RE_VERSION = re.compile(r"(?<![\w.])\d+(?:\.\d+){2,}")
_RE_ORDINAL = re.compile(rf"(?<![\w.])({_INT})(?i:st|nd|rd|th)\b")
_RE_DECADE = re.compile(r"(?<![\w.,])'?(\d*0)'?s\b")
_RE_YEAR = re.compile(r"(?<![\w.,$£€\-])(1[1-9]\d\d|20\d\d)(?![\w%]|[.,]\d)")
_RE_LETTER_DIGIT = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")
_RE_NUMBER = re.compile(rf"(?:(?<![\w.\-])(-))?({_INT})(?:\.(\d+))?")
_RE_NUMBER_HYPHEN = re.compile(r"(?i)\b(twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|oh)-(?=[a-z])")
_DIGITS = "zero one two three four five six seven eight nine".split()


def _digits(s):
    return " ".join(_DIGITS[int(c)] for c in s if c.isdigit())


def _words(s, to="cardinal"):
    """'1,250' -> 'one thousand two hundred and fifty'; '007' and very long numbers are read digit by digit."""
    n = s.replace(",", "")
    if len(n) > 21 or (to == "cardinal" and len(n) > 1 and n[0] == "0" and "," not in s):
        return _digits(n)
    return num2words(int(n), to=to).replace("-", " ").replace(",", "")


def _number(sign, whole, frac):
    return ("minus " if sign else "") + _words(whole) + (" point " + _digits(frac) if frac else "")


def _plural(words):
    head, _, last = words.rpartition(" ")
    last = last[:-1] + "ies" if last.endswith("y") else last + ("es" if last.endswith(("s", "x")) else "s")
    return (head + " " + last).strip()


def _money(m):
    sign, sym, whole, frac = m.groups()
    one, many, cent, cents = _MONEY[sym]
    if frac and len(frac) > 2:
        return f"{_number(sign, whole, frac)} {many}"
    n, c = int(whole.replace(",", "")), int((frac or "0").ljust(2, "0"))
    parts = [f"{_words(whole)} {one if n == 1 else many}"] if n or not c else []
    if c:
        parts.append(f"{_words(str(c))} {cent if c == 1 else cents}")
    return ("minus " if sign else "") + " and ".join(parts)


def _numbers(text):
    text = _RE_CURRENCY.sub(_money, text)
    text = _RE_PERCENT.sub(lambda m: _number(*m.groups()) + " percent", text)
    text = _RE_ORDINAL.sub(lambda m: _words(m.group(1), "ordinal"), text)
    text = _RE_DECADE.sub(lambda m: _plural(_words(m[1], "year" if len(m[1]) == 4 else "cardinal")), text)
    text = _RE_YEAR.sub(lambda m: _words(m.group(1), "year"), text)
    text = _RE_LETTER_DIGIT.sub(" ", text)
    text = _RE_VERSION.sub(lambda m: " point ".join(_words(p) for p in m.group(0).split(".")), text)
    text = _RE_NUMBER.sub(lambda m: _number(*m.groups()), text)
    return text.replace("%", " percent ").replace("&", " and ").replace("@", " at ")


def _normalize_once(text):
    text = _clean(text)
    text = _RE_EMAIL.sub(_say_email, text)
    text = _RE_URL.sub(_say_url, text)
    text = _RE_MONTH.sub(lambda m: _ends_sentence(m, _MONTHS[m.group(1)]), text)
    text = _RE_LATIN.sub(lambda m: _ends_sentence(m, _LATIN[m.group(1).lower()]), text)
    text = _RE_HONORIFIC.sub(lambda m: _HONORIFIC[m.group(1)], text)
    text = _RE_DR_ST.sub(_dr_st, text)
    text = _RE_FINAL.sub(lambda m: _ends_sentence(m, ABBREV[m.group(1)]), text)
    text = _RE_LEADING_DOT.sub(r"0.", text)  # hibari would glue '.5' to the word before
    text = _RE_PHONE.sub(lambda m: ", ".join(_digits(p) for p in m.group(0).split("-")), text)
    text = _RE_ROMAN_NAME.sub(_roman_guard, text)
    text = _RE_LONG_GROUPS.sub(lambda m: m.group(0).replace(",", ", "), text)   # a list, and linear for hibari
    text = _numbers(hibari_normalize(text).replace("\u2060", ""))
    text = _RE_NUMBER_HYPHEN.sub(r"\1 ", text)
    return re.sub(r" +([,.;:!?)\]])", r"\1", re.sub(r"\s+", " ", text)).strip()


def normalize(text: str) -> str:
    """Written English -> speakable words with no digits left; idempotent, never raises."""
    try:
        for _ in range(4):  # glued input ('3.14Dr.', '2024https://x.io') can need another pass
            # NFKC: '¹' -> '1', full-width -> ASCII, ligatures split; inside the loop to stay idempotent
            text, before = _normalize_once(unicodedata.normalize("NFKC", text)), text
            if text == before:
                break
        return text
    except Exception:  # noqa: BLE001 - speech must go on; fall back to whitespace-cleaned text
        log.exception("normalize failed; using whitespace-cleaned text")
        return " ".join(str(text).split())


# --- sentences and chunks ----------------------------------------------------------------------------
_NO_SPLIT = set("Mr Mrs Ms Dr Prof St Mt Ft Gen Gov Sen Rep Capt Lt Col Sgt Rev Hon Pres Fr No Nos Vol Fig Ch "
                "vs cf approx e.g i.e".split()) | set(_MONTHS)
# a run of end marks is tried once, from its start (linear time); CJK ends need no space
_RE_BREAK = re.compile(r"(?<![.!?…])[.!?…]++[\"')\]”’]*+(?=\s|$)|[。！？।॥]+[」』”）]*|\n\s*")
_RE_CLAUSE = re.compile(r"(?<=[,;:—–])\s+|(?<=[、，；：])")     # CJK clause marks need no space after them
_RE_SPACE = re.compile(r"\s+")


def _is_break(text, m):
    nxt = text[m.end():].lstrip()[:1]
    if m.group(0).startswith("\n"):
        return "\n" in m.group(0)[1:] or not nxt.islower()
    if nxt.islower():
        return False
    if m.group(0) == ".":
        word = re.search(r"[\"'(\[“‘]*(\S*)$", text[max(0, m.start() - 40):m.start()]).group(1)
        if word in _NO_SPLIT or (re.fullmatch(r"(?:[A-Z]\.)*[A-Z]", word) and word not in ("A.M", "P.M")):
            return False
    return True


def split_sentences(text: str) -> list[str]:
    """Split at . ! ? … (and 。！？, Devanagari's । ॥) and line breaks; not after titles, initials, months or before
    lowercase."""
    pieces, start = [], 0
    for m in _RE_BREAK.finditer(text):
        if _is_break(text, m):
            pieces.append(text[start:m.end()])
            start = m.end()
    pieces.append(text[start:])
    return [p for p in (" ".join(p.split()) for p in pieces) if p]


def _fit(s, max_chars, level=0):
    """Split an over-long sentence at clause punctuation, then spaces, then (one huge word) hard-cut."""
    if len(s) <= max_chars:
        return [s]
    if level == 2:
        return [s[i:i + max_chars] for i in range(0, len(s), max_chars)]
    out = []
    for part in (_RE_CLAUSE, _RE_SPACE)[level].split(s):
        for piece in _fit(part, max_chars, level + 1):
            if out and len(out[-1]) + 1 + len(piece) <= max_chars:
                out[-1] += " " + piece
            else:
                out.append(piece)
    return out


def chunk_text(text: str, max_chars: int) -> list[str]:
    """Pack sentences greedily into chunks of at most max_chars; an over-long sentence starts a new chunk."""
    if max_chars < 1:
        raise ValueError(f"max_chars must be >= 1, got {max_chars}")
    chunks: list[str] = []
    for sentence in split_sentences(text):
        pieces = _fit(sentence, max_chars)
        if chunks and len(pieces) == 1 and len(chunks[-1]) + 1 + len(sentence) <= max_chars:
            chunks[-1] += " " + sentence
        else:
            chunks.extend(pieces)
    return chunks
