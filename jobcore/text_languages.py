"""Text normalization beyond English: numbers, currency, percentages and dates in the text's own language.

Languages num2words speaks get every number in words (decimal comma, grouped thousands, the language's currency
and month names); Japanese and Mandarin keep their digits for their G2P, which reads them in context (pyopenjtalk:
12月2日 as juuni-gatsu futsuka; cn2an), with currency symbols turned into the language's words; Hindi keeps
digits for espeak-ng, which reads them in Hindi."""
from __future__ import annotations

import logging
import re
import unicodedata

from num2words import num2words

log = logging.getLogger(__name__)

_NUM2WORDS = {"es": "es", "fr": "fr", "it": "it", "pt": "pt", "pt-br": "pt_BR", "de": "de", "nl": "nl", "pl": "pl",
              "ru": "ru", "tr": "tr", "cs": "cs", "hu": "hu", "da": "da", "fi": "fi", "no": "no", "sv": "sv",
              "uk": "uk", "ro": "ro", "ko": "ko", "ar": "ar", "he": "he"}
# (decimal separator word, percent, currency words: symbol -> (one, many, cent one, cent many), "and" before cents)
_WORDS = {
    "es": ("coma", "por ciento", {"€": ("euro", "euros", "céntimo", "céntimos"),
                                  "$": ("dólar", "dólares", "centavo", "centavos"),
                                  "£": ("libra", "libras", "penique", "peniques")}, "con"),
    "fr": ("virgule", "pour cent", {"€": ("euro", "euros", "centime", "centimes"),
                                    "$": ("dollar", "dollars", "cent", "cents"),
                                    "£": ("livre", "livres", "penny", "pence")}, "et"),
    "it": ("virgola", "per cento", {"€": ("euro", "euro", "centesimo", "centesimi"),
                                    "$": ("dollaro", "dollari", "centesimo", "centesimi"),
                                    "£": ("sterlina", "sterline", "penny", "pence")}, "e"),
    "pt": ("vírgula", "por cento", {"€": ("euro", "euros", "cêntimo", "cêntimos"),
                                    "$": ("dólar", "dólares", "centavo", "centavos"),
                                    "R$": ("real", "reais", "centavo", "centavos"),
                                    "£": ("libra", "libras", "pêni", "pence")}, "e"),
    "de": ("Komma", "Prozent", {"€": ("Euro", "Euro", "Cent", "Cent"), "$": ("Dollar", "Dollar", "Cent", "Cent"),
                                "£": ("Pfund", "Pfund", "Penny", "Pence")}, "und"),
}
_MONTHS = {
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
    "pt": "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
}
_DATE_FORM = {"es": "{d} de {m} de {y}", "fr": "{d} {m} {y}", "it": "{d} {m} {y}", "pt": "{d} de {m} de {y}",
              "de": "{d}. {m} {y}"}
_CJK_MONEY = {"ja": {"$": "ドル", "€": "ユーロ", "£": "ポンド", "¥": "円", "￥": "円", "₩": "ウォン"},
              "zh": {"$": "美元", "€": "欧元", "£": "英镑", "¥": "元", "￥": "元", "₩": "韩元"},
              "hi": {"₹": " रुपये", "$": " डॉलर", "€": " यूरो", "£": " पाउंड"}}
_HINDI_PERCENT = " प्रतिशत"

_GROUPED = r"\d{1,3}(?:[.\u00a0\u202f]\d{3})+(?!\d)"      # 1.250.000 (or with no-break spaces, as French writes)
_NUMBER = rf"{_GROUPED}(?:,\d+)?|\d+\.\d+|\d+(?:,\d+)?"
_RE_DATE = re.compile(r"(?<![\d/.])(\d{1,2})[/.](\d{1,2})[/.](\d{4})(?![\d/])|(?<![\d-])(\d{4})-(\d{2})-(\d{2})(?![\d-])")
_RE_MONEY_BEFORE = re.compile(rf"(R\$|[€$£])\s?({_NUMBER})")
_RE_MONEY_AFTER = re.compile(rf"({_NUMBER})\s?(R\$|[€$£])")
_RE_PERCENT = re.compile(rf"({_NUMBER})\s?%")
_MASC, _FEM = "\uE001", "\uE002"      # º and ª, kept from NFKC (which makes them o and a)
_RE_ORDINAL = re.compile(rf"(?<!\w)(\d+)(?:({_MASC}|{_FEM})|(er|re|e|ème)\b)")
_RE_NUM = re.compile(rf"(?<![\w])(-)?({_NUMBER})")
_RE_CJK_MONEY = re.compile(r"([$€£¥￥₩₹])\s?(\d[\d,]*(?:\.\d+)?)")


def _base(language: str) -> str:
    return language.split("-")[0]


def _value(text: str) -> tuple[int, str]:
    """'1.250,5' -> (1250, '5'); '3.5' -> (3, '5'): a dot is a decimal point only before other than 3 digits."""
    text = text.replace("\u00a0", "").replace("\u202f", "")
    if re.fullmatch(r"\d+\.\d+", text) and not re.fullmatch(r"\d{1,3}(?:\.\d{3})+", text):
        whole, frac = text.split(".")
        return int(whole), frac
    whole, _, frac = text.replace(".", "").partition(",")
    return int(whole), frac


def _cardinal(n: int, language: str) -> str:
    return num2words(n, lang=_NUM2WORDS[language])


def _number(text: str, language: str) -> str:
    whole, frac = _value(text)
    words = _cardinal(whole, language)
    if frac:
        point = _WORDS.get(_base(language), ("comma",))[0]
        tail = _cardinal(int(frac), language) if len(frac) <= 2 and not frac.startswith("0") else \
            " ".join(_cardinal(int(d), language) for d in frac)
        words = f"{words} {point} {tail}"
    return words


def _money(amount: str, symbol: str, language: str) -> str:
    words = _WORDS.get(_base(language))
    if words is None or symbol not in words[2]:
        return f"{_number(amount, language)} {symbol}"
    one, many, cent, cents = words[2][symbol]
    whole, frac = _value(amount)
    if len(frac) > 2:
        return f"{_number(amount, language)} {many}"
    out = f"{_cardinal(whole, language)} {one if whole == 1 else many}"
    c = int(frac.ljust(2, "0")) if frac else 0
    if c:
        out += f" {words[3]} {_cardinal(c, language)} {cent if c == 1 else cents}"
    return out


def _date(m: re.Match, language: str) -> str:
    base = _base(language)
    if m.group(1):
        day, month, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
    else:
        year, month, day = int(m.group(4)), int(m.group(5)), int(m.group(6))
    if base not in _MONTHS or not (1 <= month <= 12 and 1 <= day <= 31):
        return m.group(0)
    day_words = num2words(1, lang="fr", to="ordinal") if base == "fr" and day == 1 else \
        (num2words(day, lang="de", to="ordinal") if base == "de" else _cardinal(day, language))
    return _DATE_FORM[base].format(d=day_words, m=_MONTHS[base].split()[month - 1], y=_cardinal(year, language))


def _ordinal(m: re.Match, language: str) -> str:
    n, mark, french = int(m.group(1)), m.group(2), m.group(3)
    if french and _base(language) != "fr":
        return m.group(0)
    try:
        words = num2words(n, lang=_NUM2WORDS[language], to="ordinal")
    except (NotImplementedError, KeyError):  # num2words lacks ordinals in a few languages
        return _cardinal(n, language)
    if mark == _FEM and words.endswith("o"):
        words = words[:-1] + "a"
    return words


def _words_in(text: str, language: str) -> str:
    text = _RE_DATE.sub(lambda m: _date(m, language), text)
    text = _RE_MONEY_BEFORE.sub(lambda m: _money(m.group(2), m.group(1), language), text)
    text = _RE_MONEY_AFTER.sub(lambda m: _money(m.group(1), m.group(2), language), text)
    percent = _WORDS.get(_base(language), ("", "%"))[1]
    text = _RE_PERCENT.sub(lambda m: f"{_number(m.group(1), language)} {percent}", text)
    text = _RE_ORDINAL.sub(lambda m: _ordinal(m, language), text)
    return _RE_NUM.sub(lambda m: ("menos " if m.group(1) and _base(language) in ("es", "pt") else
                                  "moins " if m.group(1) and _base(language) == "fr" else
                                  "meno " if m.group(1) and _base(language) == "it" else
                                  m.group(1) or "") + _number(m.group(2), language), text)


def normalize_language(text: str, language: str) -> str:
    """Written text -> what a backend should say, in `language` (not English: see jobcore.text.normalize)."""
    try:
        text = re.sub(r"(?<=\d)\s?[º°](?!\s?[CF]\b)", _MASC, re.sub(r"(?<=\d)\s?ª", _FEM, text))
        base = _base(language)
        if base not in ("ja", "zh"):             # their G2Ps normalize width themselves; NFKC would turn 。！ into .!
            text = unicodedata.normalize("NFKC", text)
        text = " ".join(text.split())
        if base in ("ja", "zh", "hi"):
            money = _CJK_MONEY[base]
            text = _RE_CJK_MONEY.sub(lambda m: m.group(2).replace(",", "") + money[m.group(1)], text)
            return text.replace("%", _HINDI_PERCENT) if base == "hi" else text
        if language in _NUM2WORDS or base in _NUM2WORDS:
            return " ".join(_words_in(text, language if language in _NUM2WORDS else base).split())
        return text
    except Exception:  # noqa: BLE001 - speech must go on: the text as written
        log.exception("normalizing %s text failed; speaking it as written", language)
        return " ".join(text.split())
