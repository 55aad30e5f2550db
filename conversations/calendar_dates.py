"""Dates in a timeframe answer, relative to the day the message was sent: "Q3", "fin janvier".

:func:`parse_calendar_days` reads month names ("in March", "janvier prochain",
"early Sept", "mi-avril", "15 mars"), quarters ("Q3", "T4 2026", "third quarter",
"premier trimestre"), seasons ("next spring", "cet été", "à la rentrée") and "the
new year", and returns the days from `today` to the start and the end of the
period meant, as a :class:`~conversations.quantities.Quantity`. "before" / "by" /
"d'ici" keep only an upper bound, "after" / "not before" / "à partir de" a lower one.

A period with no year is the next one that has not ended ("in March" said on
2 March is this March; said in April, next March); with "next" / "prochain", the
next one that has not started. Pure: `today` is a parameter, never the clock.
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass
from datetime import date
from typing import Final

from conversations.quantities import Quantity
from conversations.textnorm import fold

__all__ = ["calendar_days_in", "parse_calendar_days"]


def _names(*groups: tuple[int, str]) -> dict[str, int]:
    return {name: number for number, names in groups for name in names.split()}


_MONTHS: Final = _names(
    (1, "january jan janvier janv"), (2, "february feb febr fevrier fevr fev"),
    (3, "march mars"), (4, "april apr avril avr"), (5, "mai"), (6, "june jun juin"),
    (7, "july jul juillet juil"), (8, "august aug aout"),
    (9, "september sep septembre"), (10, "october oct octobre"),
    (11, "november nov novembre"), (12, "december dec decembre"))
# Month names that are also common words ("may", "mar", "sept" is 7 in French):
# months only beside a word that introduces a date, a day or a year.
_AMBIGUOUS_MONTHS: Final = {"may": 5, "sept": 9, "mar": 3}
_DATE_WORDS: Final = frozenset(
    "in by before after until from early mid late end beginning start of next this "
    "en d ici avant apres debut fin mi courant jusqu a partir prochain during "
    "the".split())

# (first month, months long); winter starts in December.
_SEASONS: Final = {
    **dict.fromkeys(("spring", "printemps"), (3, 3)),
    **dict.fromkeys(("summer", "ete", "summertime"), (6, 3)),
    **dict.fromkeys(("fall", "autumn", "automne"), (9, 3)),
    **dict.fromkeys(("winter", "hiver"), (12, 3)),
}
_ORDINALS: Final = {
    **_names((1, "first 1st premier 1er"), (2, "second 2nd deuxieme 2e 2eme"),
             (3, "third 3rd troisieme 3e 3eme"), (4, "fourth 4th quatrieme 4e 4eme last dernier")),
}
_YEAR_CONTEXT: Final = frozenset({"in", "en", "for", "pour", "during", "courant", "ici", "by"})
_QUARTER_WORDS: Final = frozenset({"quarter", "trimestre"})
_QUARTER_RE: Final = re.compile(r"^[qt]([1-4])$")
_NEXT: Final = frozenset({"next", "prochain", "prochaine", "coming"})
_UPPER: Final = ("before", "avant", "by", "until", "till", "d ici", "jusqu a", "jusqu en",
                 "au plus tard")
_LOWER: Final = ("after", "apres", "not before", "pas avant", "from", "a partir de",
                 "a partir d", "starting", "starting in", "des", "no earlier than")
_NEGATIONS: Final = frozenset({"not", "no", "pas", "non", "never", "jamais", "ni"})
_EARLY: Final = ("early", "beginning of", "start of", "debut", "au debut de", "first week of",
                 "premiere semaine de", "debut de")
_MID: Final = ("mid", "mi", "middle of", "milieu", "milieu de", "mi mois de")
_LATE: Final = ("late", "end of", "fin", "fin de", "last week of", "derniere semaine de",
                "the end of", "la fin de", "a la fin de")


@dataclass(frozen=True, slots=True)
class _Period:
    start: date
    end: date


@dataclass(frozen=True, slots=True)
class _Mention:
    """A period named in the text: the month it starts, how long, and the words around it."""

    month: int
    months: int
    first_day: int  # part of a single month: 1–10 "early", 11–20 "mid", 21–end "late"
    last_day: int | None  # None: the end of the period
    start: int  # word index of the mention
    end: int
    year: int | None
    next_one: bool


def _month_end(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + months
    return index // 12, index % 12 + 1


def _period(m: _Mention, year: int) -> _Period:
    start = date(year, m.month, min(m.first_day, _month_end(year, m.month)))  # "31 avril"
    end_year, end_month = _add_months(year, m.month, m.months - 1)
    last = _month_end(end_year, end_month)
    end = date(end_year, end_month, min(m.last_day or last, last))
    return _Period(start, end)


def _occurrence(m: _Mention, today: date) -> _Period:
    if m.year is not None:
        return _period(m, m.year)
    for year in (today.year - 1, today.year, today.year + 1, today.year + 2):
        period = _period(m, year)
        if (period.start > today) if m.next_one else (period.end >= today):
            return period
    return _period(m, today.year + 2)


def _ends_with(words: list[str], i: int, phrases: tuple[str, ...]) -> str | None:
    """The longest phrase that ends just before word `i`."""
    before = " ".join(words[max(0, i - 4):i])
    found = [p for p in phrases if before == p or before.endswith(" " + p)]
    return max(found, key=len) if found else None


def _year_after(words: list[str], j: int, today: date) -> tuple[int | None, int]:
    """A year written after a period ("2027", "next year", "de l'année prochaine")."""
    if j < len(words) and words[j].isdigit() and 2000 <= int(words[j]) <= 2100:
        return int(words[j]), j + 1
    tail = " ".join(words[j:j + 5])
    for phrase in ("next year", "of next year", "de l annee prochaine", "l annee prochaine",
                   "annee prochaine", "de l an prochain", "l an prochain"):
        if tail == phrase or tail.startswith(phrase + " "):
            return today.year + 1, j + len(phrase.split())
    return None, j


def _mentions(words: list[str], today: date) -> list[_Mention]:
    found: list[_Mention] = []
    for i, word in enumerate(words):
        month = _MONTHS.get(word)
        if month is None and word in _AMBIGUOUS_MONTHS:
            context = (i > 0 and words[i - 1] in _DATE_WORDS) or (
                i + 1 < len(words) and words[i + 1].isdigit()) or len(words) == 1
            month = _AMBIGUOUS_MONTHS[word] if context else None
        quarter = _QUARTER_RE.match(word)
        months, first, last = 1, 1, None
        start = i
        if month is not None:
            if i > 0 and words[i - 1].isdigit() and 1 <= int(words[i - 1]) <= 31:
                first = last = int(words[i - 1])  # "15 mars"
                start = i - 1
            elif i + 1 < len(words) and words[i + 1].isdigit() and 1 <= int(words[i + 1]) <= 31:
                first = last = int(words[i + 1])  # "March 15"
        elif quarter is not None or (word in _QUARTER_WORDS and i and words[i - 1] in _ORDINALS):
            number = int(quarter.group(1)) if quarter else _ORDINALS[words[i - 1]]
            month, months = 3 * number - 2, 3
            start = i if quarter else i - 1
        elif word in _SEASONS:
            month, months = _SEASONS[word]
        elif word.isdigit() and len(word) == 4 and 2000 <= int(word) <= 2100 and (
                len(words) == 1 or i and words[i - 1] in _YEAR_CONTEXT
                or _ends_with(words, i, (*_EARLY, *_MID, *_LATE))):
            if found:
                continue  # the year of a period already read ("T4 2026")
            part = _ends_with(words, i, (*_EARLY, *_MID, *_LATE))  # "early 2027", "fin 2026"
            month = 1 if part is None or part in _EARLY else 5 if part in _MID else 9
            begin = i - len(part.split()) if part else i
            found.append(_Mention(month, 12 if part is None else 4, 1, None, begin, i + 1,
                                  int(word), False))
            continue
        elif word == "rentree":
            month, last = 9, 15
        elif " ".join(words[i - 1:i + 1]) in ("new year", "nouvel an"):
            if not found:  # "in the new year", "après le nouvel an": next January
                found.append(_Mention(1, 1, 1, None, i - 1, i + 1, today.year + 1, False))
            continue
        else:
            continue
        if months == 1 and last is None:
            qualifier = _ends_with(words, start, (*_EARLY, *_MID, *_LATE))
            if qualifier in _EARLY:
                first, last = 1, (7 if "week" in qualifier or "semaine" in qualifier else 10)
            elif qualifier in _MID:
                first, last = 11, 20
            elif qualifier in _LATE:
                first = 21
            if qualifier is not None:
                start -= len(qualifier.split())
        next_one = (start > 0 and words[start - 1] in _NEXT) or (
            i + 1 < len(words) and words[i + 1] in _NEXT)
        year, end = _year_after(words, i + 1, today)
        if year is None and i + 1 < len(words) and words[i + 1] in _NEXT:
            end = i + 2
        found.append(_Mention(month, months, first, last, start, end, year, next_one))
    return found


def _skip_articles(words: list[str], i: int) -> int:
    while i > 0 and words[i - 1] in ("the", "l", "le", "la", "this", "cet", "cette", "ce",
                                     "next", "prochain", "in", "en", "au", "a", "of", "de",
                                     "du", "for", "pour", "around", "vers"):
        i -= 1
    return i


def parse_calendar_days(text: str, today: date) -> Quantity | None:
    """Days from `today` to the period a date in `text` names, or None when there is none."""
    return calendar_days_in(fold(text), today)


def calendar_days_in(folded: str, today: date) -> Quantity | None:
    """:func:`parse_calendar_days` of a text already folded."""
    words = folded.split()[:40]
    for mention in _mentions(words, today):
        head = _skip_articles(words, mention.start)
        if _NEGATIONS.intersection(words[max(0, head - 2):head]) and not _ends_with(
                words, head, ("not before", "pas avant", "no earlier than")):
            continue  # "not in March", "pas en mai"
        period = _occurrence(mention, today)
        low = max((period.start - today).days, 0)
        high = max((period.end - today).days, 0)
        if _ends_with(words, head, _LOWER):
            after = "after" in words[head - 1:head] or "apres" in words[head - 1:head]
            return Quantity(high + 1 if after else low, math.inf, approximate=True)
        bound = _ends_with(words, head, _UPPER)
        if bound is not None:  # "by the end of March": its end; "before summer": its eve
            if mention.first_day > 20:
                return Quantity(-math.inf, high, approximate=True)
            eve = low - 1 if bound in ("before", "avant") else low
            return Quantity(-math.inf, max(eve, 0), approximate=True)
        return Quantity(low, high, approximate=True)
    return None
