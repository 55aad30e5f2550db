"""Numbers in free text, English and French: the lexer and number words.

Step 2 of `conversations.quantities`: split numbers (``1,200``, ``12.000``,
``10 000``, ``2,5``), words and symbols, and turn number words ("twenty-five",
"quatre-vingt-dix", "une vingtaine", "a few hundred") into numbers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


@dataclass(frozen=True, slots=True)
class Token:
    kind: Literal["num", "word", "sym"]
    text: str
    glued: bool = False  # touches the previous token: "2k", "b2b", "$50"
    low: float = 0.0
    high: float = 0.0
    approx: bool = False


_TOKEN_RE: Final = re.compile(r"(?P<num>\d+(?:[,. ]\d+)*)|(?P<word>[a-z]+)|(?P<sym>\S)")
_THOUSANDS_RE: Final = re.compile(r"\d{3}(?:[.,]\d+)?")


def _number(raw: str) -> list[float]:
    """The numbers in a digit run, en and fr.

    Spaces group thousands when every later group has three digits ("10 000,50"),
    else they separate numbers. Of "," and ".", the last one is the decimal mark
    when both appear ("1.200,50"); alone it groups thousands when followed by
    exactly three digits ("1,200", "12.000") and is a decimal mark otherwise
    ("1.5", "2,5", "0.500").
    """
    chunks = raw.split(" ")
    if len(chunks) > 1 and not (all(len(c) == 3 and c.isdigit() for c in chunks[1:-1])
                                and _THOUSANDS_RE.fullmatch(chunks[-1])):
        return [v for chunk in chunks for v in _number(chunk)]
    digits = "".join(chunks)
    marks = [c for c in digits if c in ",."]
    if not marks:
        return [float(digits)]
    head, _, tail = digits.rpartition(marks[-1])
    if len(set(marks)) == 2 or (len(marks) == 1 and (len(tail) != 3 or head == "0")):
        return [float(head.replace(",", "").replace(".", "") + "." + tail)]
    groups = re.split(r"[,.]", digits)
    if all(len(g) == 3 for g in groups[1:]):
        return [float("".join(groups))]
    return [float(g) for g in groups if g]  # "1.2.3": pieces, as no one groups like that


def lex(text: str) -> list[Token]:
    tokens: list[Token] = []
    end = -1
    for m in _TOKEN_RE.finditer(text):
        glued, end = m.start() == end, m.end()
        if m.lastgroup == "num":
            raw = m.group().strip(" .,")
            values = _number(raw)
            tokens.extend(Token("num", raw, glued and n == 0, v, v) for n, v in enumerate(values))
        else:
            tokens.append(Token("word" if m.lastgroup == "word" else "sym", m.group(), glued))
    return tokens


_SMALL: Final = {
    **{w: i for i, w in enumerate(words(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen"))},
    **{w: i for i, w in enumerate(words(
        "zero un deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze "
        "seize"))},
    **{w: 10 * i for i, w in enumerate(words(
        "_ _ twenty thirty forty fifty sixty seventy eighty ninety")) if i >= 2},
    **{w: 10 * i for i, w in enumerate(words(
        "_ _ vingt trente quarante cinquante soixante septante huitante nonante")) if i >= 2},
    "une": 1, "fourty": 40, "vingts": 20, "octante": 80,
}
_SCALES: Final = {"hundred": 100.0, "cent": 100.0, "cents": 100.0, "thousand": 1e3, "mille": 1e3,
                  "million": 1e6, "millions": 1e6, "billion": 1e9, "milliard": 1e9,
                  "milliards": 1e9, "dozen": 12.0}
# Nouns that mean "about N" ("une vingtaine"); their plurals are "a few N" ("des centaines").
APPROX_NOUNS: Final = {"dizaine": 10, "douzaine": 12, "quinzaine": 15, "vingtaine": 20,
                        "trentaine": 30, "quarantaine": 40, "cinquantaine": 50,
                        "soixantaine": 60, "centaine": 100, "millier": 1000}
_PLURAL_SCALES: Final = frozenset(words(
    "hundreds thousands dozens tens centaines milliers dizaines"))
# "A few", "quelques", "several" read as about three ("a few hundred" ≈ 300) so the
# answer lands in one band; "a couple" is two.
_SCALE_NOUNS: Final = frozenset({*APPROX_NOUNS, "ten", "hundred", "thousand", "dozen", "million"})
_FEW: Final = {"few": 3.0, "quelques": 3.0, "several": 3.0, "plusieurs": 3.0, "couple": 2.0}
_CONNECTORS: Final = frozenset({"and", "et", "-"})
_ARTICLES: Final = frozenset({"a", "an", "one", "un", "une"})
DAY_UNITS: Final = {
    **dict.fromkeys(words("day days d j jour jours journee journees"), 1.0),
    **dict.fromkeys(words("week weeks wk wks w semaine semaines sem sems"), 7.0),
    **dict.fromkeys(words("fortnight fortnights"), 14.0),
    **dict.fromkeys(words("month months mo mos mth mths m mois"), 30.0),
    **dict.fromkeys(words("quarter quarters trimestre trimestres"), 90.0),
    **dict.fromkeys(words("semestre semestres"), 182.0),
    **dict.fromkeys(words("year years yr yrs y an ans annee annees"), 365.0),
    **dict.fromkeys(words("hour hours h heure heures minute minutes min mins"), 0.0),
}
# "a couple" and "a few" are not "one couple": the article says nothing ("a couple hundred").
_ARTICLE_NOUNS: Final = frozenset({*_SCALES, *APPROX_NOUNS, *DAY_UNITS})
# "one" is a pronoun more often than a number: "we haven't set one", "one of the
# leaders", "a one-off project". It is a number unless a word around it says otherwise.
_ONE_PRONOUN_AFTER: Final = frozenset(words(
    "set have has had got get need needs want pick choose any no the this that which each every "
    "another such a an defined decided fixed made allocated found"))
_ONE_PRONOUN_BEFORE: Final = frozenset(words("of off another more thing day"))


def _one_is_a_pronoun(tokens: Sequence[Token], i: int) -> bool:
    before = tokens[i - 1].text if i else ""
    after = [t.text for t in tokens[i + 1:i + 3]]
    if after[:2] in (["of", "us"], ["of", "them"]):
        return False  # "just one of us"
    return (before in _ONE_PRONOUN_AFTER or bool(after) and after[0] in _ONE_PRONOUN_BEFORE
            or after[:2] == ["-", "off"])


def _after_a_number(out: Sequence[Token]) -> bool:
    """A scale right after a number multiplies it: "3 hundred", "a couple of thousand",
    "une dizaine de milliers", "tens of thousands"."""
    if out and out[-1].kind == "num":
        return True
    if len(out) < 2 or out[-1].text not in ("of", "de", "d"):
        return False
    return out[-2].kind == "num" or out[-2].text.rstrip("s") in _SCALE_NOUNS


def word_numbers(tokens: Sequence[Token]) -> list[Token]:
    """Number words to number tokens; "a"/"une" count as 1 only before a noun that takes one."""
    out: list[Token] = []
    total = current = 0.0
    last = 0  # the last small number added: tens may take units ("vingt et un")
    reading = False
    connector: Token | None = None  # "and"/"et"/"-" inside a number, kept if the number ends

    def flush() -> None:
        nonlocal total, current, last, reading
        if reading:
            out.append(Token("num", "", False, total + current, total + current))
        total = current = 0.0
        last, reading = 0, False

    for i, tok in enumerate(tokens):
        word = tok.text if tok.kind == "word" else ""
        nxt = tokens[i + 1].text if i + 1 < len(tokens) else ""
        if word in _ARTICLES and nxt in _ARTICLE_NOUNS and not reading:
            word = "one"
        elif word == "one" and not reading and _one_is_a_pronoun(tokens, i):
            word = ""
        if word in _SMALL and (reading or word not in ("un", "une")):
            value = _SMALL[word]
            if word in ("vingt", "vingts") and last == 4:  # quatre-vingt(s) = 80
                current, last = current + 76, 80
            elif (not reading or (current % 100 == 0 and last == 0)
                  or (last % 10 == 0 < value < last)):
                current, last = current + value, value
            else:  # "twenty and thirty", "five six": two numbers
                flush()
                if connector is not None:
                    out.append(connector)
                current = last = value
            reading, connector = True, None
        elif word in _SCALES and (reading or not _after_a_number(out)):
            scale = _SCALES[word]
            if scale > 1000:
                total, current = (total + (current or 1)) * scale, 0.0
            elif scale == 1000:
                total, current = total + (current or 1) * scale, 0.0
            else:
                current = (current or 1) * scale
            last, reading, connector = 0, True, None
        elif tok.text in _CONNECTORS and reading and nxt in _SMALL and connector is None:
            connector = tok  # "vingt et un", "twenty-five", "hundred and ten"
        else:
            flush()
            if connector is not None:
                out.append(connector)
                connector = None
            if word in _FEW:
                out.append(Token("num", word, tok.glued, _FEW[word], _FEW[word], approx=True))
            elif word in _PLURAL_SCALES and not _after_a_number(out):
                out.append(Token("num", "few", False, 3.0, 3.0, approx=True))  # "hundreds of"
            if word not in _FEW:
                out.append(tok)
    flush()
    return out
