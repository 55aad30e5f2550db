"""Quantities typed in free text, English and French: head counts, money, delays in days.

Each parser returns a :class:`Quantity` — the interval of values the prospect
may mean — or None when it understands nothing. The pipeline is shared:

1. :func:`conversations.textnorm.clean`, then phrases that bound or soften a
   number ("less than", "plus de", "environ", "d'ici") become marker words;
2. a lexer (:mod:`conversations.numbers`) splits numbers (``1,200``, ``12.000``,
   ``10 000``, ``2,5``), words and symbols, and number words ("twenty-five",
   "quatre-vingt-dix", "une vingtaine", "a few hundred") become numbers;
3. a small grammar reads ``[bound] number [multiplier] [currency] [unit] [range]``.

Nothing raises: what is not understood is skipped; negative numbers, absurd
values (over :data:`MAX_VALUE`) and over-long texts give None.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from conversations.numbers import APPROX_NOUNS, DAY_UNITS, Token, lex, word_numbers, words
from conversations.textnorm import Normalised, normalise

__all__ = ["MAX_VALUE", "Quantity", "count_in", "days_in", "money_in", "parse_count",
           "parse_duration_days", "parse_money"]

MAX_VALUE: Final = 1e12
MAX_TEXT: Final = 500  # an answer longer than this is prose, not a quantity
_INF: Final = math.inf
Kind = Literal["count", "money", "days"]


@dataclass(frozen=True, slots=True)
class Quantity:
    """The interval ``[low, high]`` of values meant; a single value has ``low == high``.

    Bounds the prospect excluded are already applied: "under 20" people is
    ``(-inf, 19)``, "more than 5000" is ``(5001, inf)``, "under 5k" € is
    ``(-inf, 4999.99)``. An open end is infinite.
    """

    low: float
    high: float
    approximate: bool = False
    bare: bool = False  # a plain number: no currency, multiplier or unit ("50" as a budget)

    @property
    def value(self) -> float:
        """One representative number: the value, a range's midpoint, or an open range's end."""
        if math.isinf(self.low):
            return self.high
        if math.isinf(self.high):
            return self.low
        return (self.low + self.high) / 2

    def approximately(self) -> Quantity:
        """The same interval, marked approximate.

        Built directly: dataclasses.replace costs several times more, once per answer read.
        """
        return Quantity(self.low, self.high, True, self.bare)


def _any(*phrases: str) -> str:
    return "|".join(phrases)


# --- step 1: phrases that bound or soften a number become marker words ----------------

_MARKERS: Final = (
    (_any("about", "around", "approx", "approximately", "approximativement", "roughly",
          "circa", "ca", "environ", "env", "nearly", "almost", "close to", "pres de",
          "presque", "quasi", "quasiment", "a peu pres", "autour de", "more or less",
          "plus ou moins", "give or take", "grosso modo", "in the region of", "some",
          "something like", "maybe", "probably", "perhaps", "peut etre", "probablement",
          "estimated", "a vue de nez"), " qapx "),
    (_any("at most", "no more than", "not more than", "pas plus de", "pas plus d", "up to",
          "upto", "jusqu a", "au maximum", "au max", "au plus", "maximum", "max", "tops",
          "or less", "ou moins"), " qle "),
    (_any("at least", "no less than", "not less than", "pas moins de", "pas moins d",
          "minimum", "au minimum", "au moins", "starting at", "starting from", "a partir de",
          "a partir d"), " qge "),
    (_any("less than", "fewer than", "lower than", "under", "below", "moins de", "moins d",
          "inferieur a", "inferieure a", "en dessous de", "en deca de"), " qlt "),
    (_any("more than", "greater than", "over", "above", "plus de", "plus d", "superieur a",
          "superieure a", "au dela de", "beyond", "in excess of", "upwards of", "north of",
          "exceeding"), " qgt "),
    (_any("and up", "or more", "and more", "or above", "and above", "et plus", "ou plus",
          "et au dela", "ou davantage", "plus"), " qge "),
    (_any("pour cent", "pourcent", "percent"), " % "),
)
# Delays bound differently: "within 6 months" means before 180 days.
_DAY_MARKERS: Final = (
    (_any("not before", "pas avant", "no earlier than", "after", "apres"), " qgt "),
    (_any("within", "d ici", "dans les", "before", "avant", "sous", "in less than",
          "en moins de"), " qlt "),
    (_any("and a half", "et demi", "et demie"), " qhalf "),
)
_SYMBOL_MARKERS: Final = ((r"\+/-|~", " qapx "), (r"<", " qlt "), (r">", " qgt "),
                          (r"\b(?:half an?|a half|une? demie?)[ -]+", " 0.5 "))
_COMPILED: Final = {
    kind: tuple(
        [(re.compile(rf"\b(?:{p})\b"), m) for p, m in (*(_DAY_MARKERS if kind == "days" else ()),
                                                        *_MARKERS)]
        + [(re.compile(p), m) for p, m in _SYMBOL_MARKERS])
    for kind in ("count", "money", "days")
}
# Most answers hold no marker at all ("45", "15k"): one search over every pattern
# then replaces a dozen substitutions that would each find nothing.
_ANY_MARKER: Final = {
    kind: re.compile("|".join(f"(?:{pattern.pattern})" for pattern, _ in compiled))
    for kind, compiled in _COMPILED.items()
}


# "une bonne centaine", "a good hundred": the adjective does not change the number.
_FILLER_RE: Final = re.compile(
    r"\b(une?|a) (?:bonne|petite|grosse|good|solid) (?=(?:dizaine|douzaine|quinzaine|vingtaine|"
    r"trentaine|quarantaine|cinquantaine|soixantaine|centaine|millier|hundred|dozen|thousand)s?\b)")


def _prepare(text: Normalised, kind: Kind) -> str | None:
    if len(text.text) > MAX_TEXT * 4 or len(text.cleaned) > MAX_TEXT:
        return None
    cleaned = text.cleaned.replace("'", " ").replace('"', " ")
    if " " in cleaned:  # every filler pattern holds a space
        cleaned = _FILLER_RE.sub(r"\1 ", cleaned)
    if _ANY_MARKER[kind].search(cleaned) is None:
        return cleaned
    for pattern, marker in _COMPILED[kind]:
        cleaned = pattern.sub(marker, cleaned)
    return cleaned


# --- step 3: the grammar ---------------------------------------------------------------

_MULTIPLIERS: Final = {
    **dict.fromkeys(words("k ke keur keuros kusd grand thousand thousands mille"), 1e3),
    **dict.fromkeys(words("hundred hundreds cent cents"), 100.0),
    **dict.fromkeys(words("m mm mio mln meur million millions"), 1e6),
    **dict.fromkeys(words("bn billion milliard milliards"), 1e9),
    "dozen": 12.0, "dozens": 12.0, "tens": 10.0,
}
_CURRENCIES: Final = frozenset(words(
    "€ $ £ eur euro euros usd us dollar dollars gbp pound pounds livres chf cad aud ht ttc hors "
    "taxe taxes"))
_PEOPLE: Final = frozenset(words(
    "people persons personnes person employees employee staff salaries salarie ppl pers fte etp "
    "collaborateurs collaborators heads headcount members membres workers agents users "
    "utilisateurs devs engineers"))
_RANGE_SEPS: Final = frozenset(words("- to a and et or ou / till until qle"))
_STEP: Final = {"count": 1.0, "money": 0.01, "days": 1.0}  # the next value after a strict bound


@dataclass(frozen=True, slots=True)
class _Amount:
    """``number [multiplier…] [currency…] [unit]`` as read, before ranges and bounds."""

    low: float
    high: float
    approx: bool
    factor: float  # product of multipliers ("k", "million"); 1 when none
    unit: float | None  # days per unit, for durations
    marked: bool  # carried a currency or multiplier: surely an amount
    end: int


@dataclass(frozen=True, slots=True)
class _Expr:
    quantity: Quantity
    start: int
    end: int
    has_unit: bool
    marked: bool
    negated: bool = False


# "not 5k, more like 50k", "pas 5k, plutôt 20k", "50k? no, 15": the first amount is
# withdrawn. A negation reaches to the end of its clause.
_NEGATION_WORDS: Final = frozenset(words(
    "not no pas non never jamais nope nah don doesn didn isn aren haven hasn won wasn"))
_CLAUSE_ENDS: Final = frozenset(words(", ; . ? ! : but mais rather plutot instead"))


# "not sure, maybe 30", "je sais pas 30", "I don't know exactly, 200": a hedge, not a denial.
_HEDGES: Final = frozenset(words("sure certain exactly know precisely sur sais"))


def _negated(toks: Sequence[Token], start: int, end: int) -> bool:
    for i in range(start - 1, -1, -1):
        text = toks[i].text
        if text in _CLAUSE_ENDS:
            break
        near = {t.text for t in toks[max(0, i - 1):i + 3]}
        if text in _NEGATION_WORDS and not near & _HEDGES:
            return True
    after = [t.text for t in toks[end:end + 2]]
    return after[:1] == ["?"] and after[1:] in (["no"], ["non"], ["nope"], ["nah"])


def _amount(toks: Sequence[Token], i: int, kind: Kind) -> _Amount | None:
    low, high, approx = toks[i].low, toks[i].high, toks[i].approx
    factor, unit, marked = 1.0, None, False
    j = i + 1
    while j < len(toks) and toks[j].kind != "num":
        tok, word = toks[j], toks[j].text
        nxt = toks[j + 1] if j + 1 < len(toks) else None
        if tok.glued and tok.kind == "word" and nxt is not None and nxt.glued and nxt.kind == "num":
            return None  # "1e309", "3x4": digits and letters mixed, not a quantity
        if kind != "days" and word in _MULTIPLIERS and not (word == "m" and kind == "count"):
            factor, marked = factor * _MULTIPLIERS[word], True
        elif word.rstrip("s") in APPROX_NOUNS:
            scale = APPROX_NOUNS[word.rstrip("s")]
            low, high, approx = low * scale, high * scale, True
        elif kind == "money" and word in _CURRENCIES:
            marked = True
        elif kind == "days" and word in DAY_UNITS:
            unit = DAY_UNITS[word]
            if nxt is not None and nxt.text == "qhalf":  # "un an et demi", "a year and a half"
                low, high, j = low + 0.5, high + 0.5, j + 1
            j += 1
            break
        elif kind == "days" and word in ("de", "of") and nxt is not None and nxt.text in DAY_UNITS:
            pass  # "une dizaine de jours", "a couple of weeks"
        elif kind != "days" and word in ("de", "d", "of") and nxt is not None and (
                nxt.text in _MULTIPLIERS or nxt.text.rstrip("s") in APPROX_NOUNS
                or kind == "money" and nxt.text in _CURRENCIES):
            pass  # "une dizaine de milliers", "a couple of thousand", "hundreds of thousands"
        elif word == "ish":
            approx = True
        elif tok.glued and tok.kind == "word":
            return None  # "3d printing", "5th": not a quantity
        else:
            break
        j += 1
    return _Amount(low, high, approx, factor, unit, marked, j)


def _combine(a: _Amount, b: _Amount, sep: str) -> Quantity:
    """A range "a sep b": a multiplier or unit written once applies to both ends."""
    if a.unit is not None and b.unit is not None and a.unit != b.unit and sep in ("and", "et"):
        return Quantity(a.low * a.unit + b.low * b.unit,  # "1 an et 6 mois": a sum
                        a.high * a.unit + b.high * b.unit, a.approx or b.approx)
    factor = a.factor
    if factor == 1.0 and a.high <= b.low:  # "20 to 30k", "5-8k"; but "500-2k" stays 500
        factor = b.factor
    unit_a = a.unit if a.unit is not None else b.unit
    unit_b = b.unit if b.unit is not None else a.unit
    low, high = sorted((a.low * factor * (unit_a or 1.0), b.high * b.factor * (unit_b or 1.0)))
    return Quantity(low, high, a.approx or b.approx)


def _glued_to_word(toks: Sequence[Token], i: int) -> bool:
    """Part of a word or of code, not a quantity: "b2b", "covid19", "q3", "alert(1)", "id=5"."""
    while (i > 0 and toks[i].glued and toks[i - 1].kind == "sym"
           and toks[i - 1].text in "([{=:_#@&^*|\\"):
        i -= 1
    return toks[i].glued and i > 0 and toks[i - 1].kind == "word"


def _expressions(toks: Sequence[Token], kind: Kind) -> list[_Expr] | None:
    """Every quantity expression in the tokens; None when one is negative or absurd."""
    exprs: list[_Expr] = []
    i = 0
    while i < len(toks):
        if toks[i].kind != "num" or _glued_to_word(toks, i):
            i += 1
            continue
        if i and toks[i - 1].text == "-" and toks[i].glued and (i < 2 or toks[i - 2].kind != "num"):
            return None  # "-5": a negative number
        a = _amount(toks, i, kind)
        if a is None:
            i += 1
            continue
        scale = a.factor * (a.unit if a.unit is not None else 1.0)
        q = Quantity(a.low * scale, a.high * scale, a.approx)
        end, has_unit, marked, ranged = a.end, a.unit is not None, a.marked, False
        k = a.end + 1
        while kind == "money" and k < len(toks) and toks[k].text in _CURRENCIES:
            k += 1  # "$20k - $30k"
        if (a.end < len(toks) and toks[a.end].text in _RANGE_SEPS and k < len(toks)
                and toks[k].kind == "num" and not _glued_to_word(toks, k)):
            b = _amount(toks, k, kind)
            if b is not None:
                q, end, ranged = _combine(a, b, toks[a.end].text), b.end, True
                has_unit, marked = has_unit or b.unit is not None, marked or b.marked
        if end < len(toks) and toks[end].text == "%":
            i = end + 1
            continue  # a percentage is not a quantity of these kinds
        q = _apply_bounds(toks, i, end, q, _STEP[kind], ranged)
        if not _sane(q):
            return None
        exprs.append(_Expr(q, i, end, has_unit, marked, _negated(toks, i, end)))
        i = max(end, i + 1)
    return exprs


def _sane(q: Quantity) -> bool:
    """Not NaN, not reversed, and every finite end in [0, MAX_VALUE]; open ends are infinite."""
    if not q.low <= q.high:  # also false for NaN
        return False
    finite = [v for v in (q.low, q.high) if not math.isinf(v)]
    return bool(finite) and all(0 <= v <= MAX_VALUE for v in finite)


def _apply_bounds(toks: Sequence[Token], i: int, j: int, q: Quantity, step: float,
                  ranged: bool) -> Quantity:
    before = [t.text for t in toks[max(0, i - 3):i] if t.text not in _CURRENCIES]
    after = toks[j].text if j < len(toks) else ""
    bound = next((w for w in reversed(before) if w in ("qlt", "qle", "qgt", "qge")), None)
    if after in ("qle", "qge", "+"):  # "5k max", "100k+", "50 et plus"
        bound = "qge" if after == "+" else after
    elif bound is None and before and before[-1] == "+":
        bound = "qgt"  # "+50 salariés": French shorthand for "plus de 50"
    if "qapx" in before or after == "qapx":
        q = q.approximately()
    if ranged or bound is None:
        return q
    if bound == "qlt":  # strict bounds step to the next value: counts and days are whole
        return Quantity(-_INF, max(q.low - step, 0.0), q.approximate)
    if bound == "qle":
        return Quantity(-_INF, q.high, q.approximate)
    if bound == "qgt":
        return Quantity(q.high + step, _INF, q.approximate)
    return Quantity(q.low, _INF, q.approximate)


def _read(text: Normalised, kind: Kind) -> tuple[list[Token], list[_Expr]] | None:
    prepared = _prepare(text, kind)
    if prepared is None:
        return None
    toks = word_numbers(lex(prepared))
    exprs = _expressions(toks, kind)
    return None if exprs is None else (toks, [e for e in exprs if not e.negated])


def _pick(exprs: Sequence[_Expr], preferred: Sequence[_Expr]) -> Quantity | None:
    """The first preferred expression, else the first; if several differ, it is approximate."""
    if not exprs:
        return None
    chosen = (preferred or exprs)[0].quantity
    if len({e.quantity for e in exprs}) > 1 and not preferred:
        chosen = chosen.approximately()
    return chosen


# --- the parsers ---------------------------------------------------------------------------

_ALONE_RE: Final = re.compile(r"\b(?:" + _any(
    "just me", "only me", "me alone", "myself", "by myself", "on my own", "solo", "one man band",
    "moi seul", "moi seule", "juste moi", "seulement moi", "moi tout seul", "moi toute seule",
    "je suis seul", "je suis seule", "tout seul", "toute seule", "seul", "seule", "alone",
    "just myself", "one person company") + r")\b")
_YEAR_CONTEXT: Final = frozenset(words(
    "in en since depuis founded created fondee creee est established"))


# "100 in France, 400 worldwide": the company's size is the total.
_TOTALS: Final = frozenset(words(
    "worldwide total overall globally global altogether monde groupe group tout"))


def parse_count(text: str) -> Quantity | None:
    """A number of people or things: "we are 45", "1,200", "une vingtaine", "2k", "just me"."""
    return count_in(normalise(text))


def count_in(text: Normalised) -> Quantity | None:
    """:func:`parse_count` of a text already normalised."""
    found = _read(text, "count")
    if found is None:
        return None
    toks, exprs = found
    kept = [e for e in exprs
            if not (e.end < len(toks) and toks[e.end].text in DAY_UNITS)  # "10 years old"
            and not (1900 <= e.quantity.low <= 2100 and e.start
                     and toks[e.start - 1].text in _YEAR_CONTEXT)]  # "founded in 2010"
    people = [e for e in kept if any(t.text in _PEOPLE for t in toks[e.end:e.end + 2])]
    totals = [e for e in kept if any(t.text in _TOTALS for t in toks[e.end:e.end + 3])]
    quantity = _pick(kept, totals or people)
    if quantity is None and _ALONE_RE.search(text.folded):
        return Quantity(1.0, 1.0)
    return quantity


_FIGURE_DIGITS: Final = {**{str(n): n for n in range(3, 10)}, **dict(zip(
    words("three four five six seven eight nine"), range(3, 10), strict=True)), **dict(zip(
        words("trois quatre cinq six sept huit neuf"), range(3, 10), strict=True))}
_FIGURES_RE: Final = re.compile(
    r"\b(?:(low|lower|bas|mid|middle|high|upper|haut) )?(" + "|".join(_FIGURE_DIGITS)
    + r") ?(?:figures?|chiffres)\b")
_FIGURE_SHARE: Final = {"low": (1, 3), "lower": (1, 3), "bas": (1, 3), "mid": (3, 7),
                        "middle": (3, 7), "high": (7, 10), "upper": (7, 10), "haut": (7, 10)}
_MONTHLY_RE: Final = re.compile(
    r"(?:\b(?:per|a|an|each|every|par|le|du) (?:month|mois)\b|/ ?(?:month|mois|mo)\b"
    r"|\bmonthly\b|\bmensuel|\bpm\b)")


def _figures(folded: str) -> Quantity | None:
    """ "six figures", "low six figures", "à 5 chiffres": the number of digits of an amount."""
    m = _FIGURES_RE.search(folded)
    if m is None:
        return None
    unit = 10.0 ** (_FIGURE_DIGITS[m.group(2)] - 1)
    low, high = _FIGURE_SHARE.get(m.group(1) or "", (1, 10))
    return Quantity(low * unit, high * unit - 1, approximate=True)


def parse_money(text: str) -> Quantity | None:
    """An amount, currency ignored: "15 k€", "$50,000", "12.000", "2,5k", "1.5M", "5-8k".

    A monthly amount ("2k per month", "1 500 € par mois") is counted over a year.
    """
    return money_in(normalise(text))


def money_in(text: Normalised) -> Quantity | None:
    """:func:`parse_money` of a text already normalised."""
    figures = _figures(text.folded)
    if figures is not None:
        return figures
    found = _read(text, "money")
    if found is None or not found[1]:
        return None
    exprs = found[1]
    marked = [e for e in exprs if e.marked]
    quantity = _pick(exprs, marked)
    if quantity is None:
        return None
    if _MONTHLY_RE.search(text.cleaned):
        return Quantity(quantity.low * 12, quantity.high * 12, approximate=True)
    return Quantity(quantity.low, quantity.high, quantity.approximate, bare=not marked)


# Delays said in words, in days; "approximate" when the calendar would be needed to be exact.
_DAY_PHRASE_TABLE: Final = (
    (_any("asap", "a s a p", "urgent", "urgently", "urgence", "right now", "right away",
          "straight away", "immediately", "immediate", "today", "tonight", "yesterday",
          "as soon as possible", "des que possible", "au plus vite", "au plus tot",
          "tout de suite", "immediatement", "aujourd hui", "ce soir", "sans attendre",
          "des maintenant", "hier", "at once", "des aujourd hui", "le plus tot"), 0.0, False),
    (_any("day after tomorrow", "apres demain"), 2.0, False),
    (_any("tomorrow", "demain"), 1.0, False),
    (_any("this week", "cette semaine", "end of the week", "fin de semaine",
          "fin de la semaine", "within the week", "dans la semaine", "this weekend",
          "ce week end"), 5.0, True),
    (_any("next week", "semaine prochaine", "semaine pro"), 7.0, False),
    ("week after next", 14.0, False),
    ("huitaine", 8.0, True),
    ("quinzaine", 15.0, True),
    (_any("soon", "shortly", "bientot", "prochainement", "rapidement", "quickly", "vite",
          "in the coming days", "dans les prochains jours", "next few days"), 14.0, True),
    (_any("this month", "ce mois", "end of the month", "end of month", "fin du mois",
          "fin de mois", "within the month", "dans le mois", "courant du mois"), 15.0, True),
    (_any("coming weeks", "next few weeks", "prochaines semaines"), 21.0, True),
    (_any("next month", "mois prochain"), 30.0, True),
    (_any("this quarter", "ce trimestre", "end of the quarter", "end of quarter",
          "fin du trimestre", "within the quarter", "dans le trimestre"), 45.0, True),
    (_any("next quarter", "trimestre prochain", "prochain trimestre", "coming months",
          "next few months", "prochains mois"), 90.0, True),
    (_any("this (?:summer|fall|autumn|winter|spring)", "cet (?:ete|automne|hiver)",
          "ce printemps", "(?:a|after|before|by|apres|avant|d ici) (?:the |l |la )?"
          "(?:summer|fall|autumn|winter|spring|ete|automne|hiver|printemps|rentree)"), 120.0, True),
    (_any("this year", "cette annee", "end of the year", "end of year", "year end",
          "fin d annee", "fin de l annee", "dans l annee", "courant de l annee",
          "cours de l annee", "within the year", "second half", "second semestre",
          "next semester", "semestre prochain"), 180.0, True),
    (_any("next year", "annee prochaine", "an prochain"), 400.0, True),
)
_DAY_PHRASES: Final = tuple((re.compile(rf"\b(?:{pattern})\b"), days, approx)
                            for pattern, days, approx in _DAY_PHRASE_TABLE)
_NEGATIONS: Final = frozenset(words(
    "not no pas non never jamais rien nothing isn aren don doesn nt aucune aucun"))
# "as soon as the budget is approved" is a condition, not "soon".
_CONDITIONAL_RE: Final = re.compile(r"\bas soon as\b(?! (?:possible|poss|we can|you can|i can))")
_NEXT_ONE_RE: Final = re.compile(
    r"\b(?:not|pas) (?:this|the|ce|cette|le|la) (week|month|quarter|year|semaine|mois|trimestre)"
    r"\b.* (?:next one|the next|le prochain|la prochaine)\b")
_FRENCH_NEXT: Final = {"semaine": "semaine prochaine", "mois": "mois prochain",
                       "trimestre": "trimestre prochain"}
_SOMEDAY_RE: Final = re.compile(r"^(?:maybe |perhaps |peut etre )?(?:one day|un jour|some day)\b")


def parse_duration_days(text: str) -> Quantity | None:
    """A delay in days: "in 2 weeks", "dans 3 mois", "within 6 months", "next week", "asap" (0).

    No-timeline phrases ("just looking", "pas pressé", "someday") are not
    durations: they are synonyms of an option, matched by the matcher.
    """
    return days_in(normalise(text))


def days_in(text: Normalised) -> Quantity | None:
    """:func:`parse_duration_days` of a text already normalised."""
    found = _read(text, "days")
    if found is None:
        return None
    plain = _CONDITIONAL_RE.sub(" once ", text.folded)
    next_one = _NEXT_ONE_RE.search(plain)
    if next_one is not None:  # "not this quarter, the next one"
        unit = next_one.group(1)
        plain = _FRENCH_NEXT.get(unit, f"next {unit}")
    if _SOMEDAY_RE.match(plain):
        return None  # "one day" is a wish, not a delay of one day
    exprs = [e for e in found[1] if e.has_unit]
    if exprs:
        return _pick(exprs, ())
    best: tuple[int, float, bool] | None = None
    for pattern, days, approx in _DAY_PHRASES:
        for m in pattern.finditer(plain):
            if _NEGATIONS.intersection(plain[: m.start()].split()[-2:]):
                continue  # "pas tout de suite", "not urgent", "nothing urgent"
            if best is None or m.start() < best[0]:
                best = (m.start(), days, approx)
            break
    return None if best is None else Quantity(best[1], best[1], best[2])
