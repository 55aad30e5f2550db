"""Free-text answers to option questions: which option or band a typed answer means.

:func:`match_answer` is called once per prospect message, so each question's
labels and synonyms are folded, stemmed and indexed once (:func:`_index_for`).
A choice answer is read in three passes, most certain first:

1. the whole answer is a label or synonym ("Banque", "SaaS");
2. a label or synonym appears as whole words inside it ("we build accounting
   software");
3. one word or a few glued words are a typo of one (``OSA`` edit distance, so a
   swap of two letters is one edit: "retial", "sofware", "helthcare"); a word
   spelt right beats a possible typo of another option.

Of the phrases found, those the prospect denies ("not finance, we are a
hospital") or names as customers ("software for banks") are set aside
(:mod:`conversations.answer_scope`), and a making verb ("we build") gives way to
the thing made. When several options remain, the head of a compound wins
("insurance software" → software, "edtech startup" → education, "magasin de
sport" → retail); options named apart ("software and finance") are close
candidates, and the prospect is asked which.

Why edit distances over words rather than rapidfuzz's token_set_ratio or WRatio
over whole answers: token_set_ratio scores 100 whenever one side's words are a
subset of the other's ("e" against "Retail & e-commerce"), and similarity
ratios cannot tell a typo from a different short word; per-word edits can.

Timeframe answers that name a date ("Q3", "fin janvier", "next spring") are read
relative to the message's day (:mod:`conversations.calendar_dates`). Number,
money and timeframe answers then try an answer that *is* an option's
phrase ("no idea yet", "asap", a band label such as "51–200"), then the
quantity parsers of :mod:`conversations.quantities` with the bands, then
phrases inside longer text and with typos ("no rush at all").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from rapidfuzz import process
from rapidfuzz.distance import OSA

from conversations.answer_scope import Scope, scope_of_cleaned
from conversations.bands import band_match, period_match, thousands_or_not
from conversations.calendar_dates import calendar_days_in
from conversations.dsl import (
    BandedQuestion,
    ChoiceQuestion,
    MoneyQuestion,
    Option,
    QuestionBase,
    TimeframeQuestion,
    options_of,
)
from conversations.match_result import ACCEPT_CONFIDENCE, NO_MATCH, Match
from conversations.quantities import Quantity, count_in, days_in, money_in
from conversations.textnorm import Normalised, fold, normalise

__all__ = ["ACCEPT_CONFIDENCE", "MAX_CHARS", "Match", "match_answer", "match_normalised"]

MAX_CHARS: Final = 1000  # longer messages are prose: only their start is read
MAX_WORDS: Final = 40
FUZZY_WORDS: Final = 16  # typos are looked for in the first words only (cost is per word)



# Nouns that name an organisation rather than a sector: in "edtech startup" the
# modifier, not the head, says the sector.
_GENERIC_HEADS: Final = frozenset({"startup", "start up", "company", "firm", "business",
                                   "entreprise", "societe", "boite", "group", "groupe",
                                   "industry", "industrie", "sector", "secteur", "agency",
                                   "agence", "organization", "organisation",
                                   "tech", "technology", "technologies"})
# Words between two option phrases: "de" and "of" link a head to its complement;
# "and", "or" list two things.
_LINKING: Final = frozenset("de d du des of en a l la le les the".split())
_LISTING: Final = frozenset("and et or ou plus also aussi as well".split())
# Verbs whose object says the sector: "we make software" is software, "we build
# tractors" (nothing else named) is what the script says "we build" means.
_MAKING_VERBS: Final = frozenset(
    "make makes build builds produce produces manufacture assemble assembles fabrique "
    "fabriquons fabriquent produit produisons produisent construit construisons".split())


@dataclass(frozen=True, slots=True)
class _Phrase:
    text: str  # folded
    key: str  # stems glued: "e-commerce", "ecommerce" and "E commerce" share one key
    option_id: str
    langs: frozenset[str]

    @property
    def verbal(self) -> bool:
        """A verb phrase ("we build", "fabrique"): it gives way to the thing made."""
        return self.text.rsplit(" ", 1)[-1] in _MAKING_VERBS


@dataclass(frozen=True, slots=True)
class _Index:
    exact: dict[str, _Phrase]
    labels_with_digits: dict[str, str]  # "51 200" → band: only the whole answer matches
    phrases_with_digits: tuple[_Phrase, ...]  # "fortune 500": names, not quantities
    # Typo targets by query length: a typo changes the length by one at most,
    # so each query is compared with about a tenth of the phrases.
    fuzzy: dict[int, tuple[tuple[str, ...], tuple[_Phrase, ...]]]
    max_words: int


@dataclass(frozen=True, slots=True)
class _Hit:
    phrase: _Phrase
    start: int
    end: int
    distance: int = 0


def _stem(word: str) -> str:
    """Crude folding of plurals and -ing, en + fr: "banks", "hôpitaux", "retailing"."""
    if len(word) > 7 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith("aux"):
        return word[:-3] + "al"
    if len(word) > 3 and word[-1] in "sx" and word[-2:] not in ("ss", "us", "is", "ux"):
        return word[:-1]
    return word


_LABEL_PARTS_RE: Final = re.compile(r"\s*(?:&|,|/|\+|\band\b|\bet\b|\bor\b|\bou\b)\s*")


def _phrases_of(option: Option) -> list[tuple[str, str, bool]]:
    """(text, language, is_label) for every label, label part and synonym of an option."""
    out: list[tuple[str, str, bool]] = []
    for lang, label in option.label.root.items():
        out.append((label, lang, True))
        parts = [p for p in _LABEL_PARTS_RE.split(label) if p.strip()]
        if len(parts) > 1:  # "Finance & insurance" also means "insurance"
            out.extend((p, lang, True) for p in parts)
    for lang, words in option.synonyms.root.items():
        out.extend((w, lang, False) for w in words)
    return out


def _build(question: QuestionBase) -> _Index:
    exact: dict[str, _Phrase] = {}
    langs: dict[tuple[str, str], set[str]] = {}
    labels_with_digits: dict[str, str] = {}
    with_digits: list[_Phrase] = []
    max_words = 1
    for option in options_of(question):
        for raw, lang, is_label in _phrases_of(option):
            text = fold(raw)
            if not text:
                continue
            langs.setdefault((text, option.id), set()).add(lang)
            if any(c.isdigit() for c in text):
                if is_label:
                    labels_with_digits.setdefault(text, option.id)
                else:
                    with_digits.append(_Phrase(text, text, option.id, frozenset({lang})))
                continue
            words = text.split()
            key = "".join(map(_stem, words))
            max_words = max(max_words, len(words))
            # The first option to claim a phrase keeps it: script order decides.
            exact.setdefault(key, _Phrase(text, key, option.id, frozenset()))
    exact = {k: _Phrase(p.text, k, p.option_id, frozenset(langs[(p.text, p.option_id)]))
             for k, p in exact.items()}
    targets = [p for p in exact.values() if len(p.key) >= 5]
    fuzzy: dict[int, tuple[tuple[str, ...], tuple[_Phrase, ...]]] = {}
    for length in {len(p.key) + d for p in targets for d in (-1, 0, 1)}:
        near = tuple(p for p in targets if abs(len(p.key) - length) <= 1)
        fuzzy[length] = (tuple(p.key for p in near), near)
    return _Index(exact, labels_with_digits, tuple(with_digits), fuzzy, max_words)


# A memo, not state: the index is a pure function of the question. Questions are
# frozen pydantic models but not hashable (their texts are dicts), so entries are
# keyed by identity and keep the question alive: an id is never reused while its
# entry exists. Scripts are few and long-lived; when 256 entries fill up (many
# reloads), the memo starts afresh. Only atomic dict operations: thread-safe.
_CACHE: dict[int, tuple[QuestionBase, _Index]] = {}
_CACHE_SIZE: Final = 256


def _index_for(question: QuestionBase) -> _Index:
    entry = _CACHE.get(id(question))
    if entry is not None and entry[0] is question:
        return entry[1]
    index = _build(question)
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.clear()
    _CACHE[id(question)] = (question, index)
    return index


# --- phrases in text ---------------------------------------------------------------------


def _contained(index: _Index, stems: Sequence[str]) -> list[_Hit]:
    hits: list[_Hit] = []
    for n in range(1, min(index.max_words, len(stems)) + 1):
        for i in range(len(stems) - n + 1):
            key = "".join(stems[i:i + n])
            if n > 1 and len(key) < 5:
                continue  # "a pp" is not "app"
            phrase = index.exact.get(key)
            if phrase is not None:
                hits.append(_Hit(phrase, i, i + n))
    return hits


def _is_acronym(phrase: _Phrase, original: str) -> bool:
    """ "IT", "NGO" typed in capitals inside a sentence are the acronym, not the word."""
    acronym = rf"(?<![A-Za-z]){re.escape(phrase.text.upper())}(?![A-Za-z])"
    return re.search(acronym, original) is not None


def _is_weak(hit: _Hit, n_words: int, original: str) -> bool:
    """ "it", "ai", "pr" inside a sentence are usually the English or French word, not a sector."""
    return len(hit.phrase.text) <= 2 and n_words > 1 and not _is_acronym(hit.phrase, original)


def _resolve(hits: list[_Hit], stems: Sequence[str], original: str, lang: str) -> Match:
    """The option meant among the phrases found in the answer (exact or misspelt).

    Two options named in one noun phrase are read by its head: the last noun in
    English ("insurance software"), the first across "de" / "of" ("magasin de
    sport", "school of medicine") and in French ("lycée professionnel agricole").
    Two options named apart ("software and finance", "a university spin-off doing
    AI") are close candidates: the prospect is asked which.
    """
    n_words = len(stems)
    strong = [h for h in hits if not _is_weak(h, n_words, original)]
    weak = len(strong) == 0  # only a two-letter word inside a sentence: ask first
    # "educaton tech": a generic head spelt right does not hide the misspelt word before it
    spelt_right = [h for h in strong if h.distance == 0 and not (
        h.phrase.text in _GENERIC_HEADS and any(t.distance and t.end == h.start for t in strong))]
    if spelt_right:  # a word spelt right beats a possible typo, unless the typo contains it
        strong = spelt_right + [h for h in strong if h.distance and any(
            h.start <= e.start and e.end <= h.end for e in spelt_right)]
    kept: list[_Hit] = []  # longest phrases first, no overlaps: "retail bank" beats "retail"
    for hit in sorted(strong or hits, key=lambda h: (-len(h.phrase.key), h.distance, h.start)):
        if all(hit.end <= k.start or hit.start >= k.end for k in kept):
            kept.append(hit)
    kept.sort(key=lambda h: h.start)
    options = list(dict.fromkeys(h.phrase.option_id for h in kept))
    chosen = kept[0]
    compound = len(options) > 1 and kept[1].start == chosen.end
    gap = stems[chosen.end:kept[1].start] if len(options) > 1 else ()
    if len(options) > 1 and not compound and not _LISTING.intersection(gap):
        french = lang == "fr" and all("fr" in h.phrase.langs for h in kept[:2])
        compound = french or all(w in _LINKING for w in gap)  # head first: keep `chosen`
    elif compound:
        first, second = chosen, kept[1]
        english = ("en" in first.phrase.langs and "en" in second.phrase.langs) or (
            not ("fr" in first.phrase.langs and "fr" in second.phrase.langs) and lang != "fr")
        if english and second.phrase.text not in _GENERIC_HEADS:
            chosen = second  # "insurance software", "retail bank": the head decides
        elif not english and first.phrase.text in _GENERIC_HEADS:
            chosen = second  # "startup edtech"
    ranked = (chosen.phrase.option_id, *(o for o in options if o != chosen.phrase.option_id))
    if weak:
        confidence = 0.7
    elif chosen.distance == 0:
        confidence = 0.95
    else:  # a typo: one edit is a typo, two may be another word
        confidence = 0.7 if chosen.distance > 1 else (0.85 if len(chosen.phrase.key) >= 7 else 0.8)
        if chosen.end - chosen.start == n_words:
            confidence += 0.05  # the whole answer is that one word, misspelt
    if len(options) > 1:  # two sectors named apart ("a university spin-off doing AI"): ask
        confidence = min(confidence, 0.85 if compound else 0.7)
    suggestions = ranked[:3] if confidence < ACCEPT_CONFIDENCE else ()
    return Match(ranked[0], None, confidence, suggestions)


def _in_scope(hits: list[_Hit], scope: Scope) -> tuple[list[_Hit], bool]:
    """The phrases the prospect says the company *is*, and whether only customers were named.

    Denied phrases go ("not finance, we are a hospital"); customers ("software
    for banks") count only when nothing else is named; a making verb ("we build")
    gives way to a thing named spelt right ("we build websites").
    """
    def covered(i: int) -> bool:
        return any(h.start <= i < h.end for h in hits)

    kept = [h for h in hits if not scope.denied(h.start, covered)]
    own = [h for h in kept if not scope.customers(h.start, covered)]
    customers_only = bool(kept) and not own
    kept = own or kept
    sellers = [h for h in kept if not scope.goods(h.start, covered)]
    kept = sellers or kept  # "online shop selling furniture": the shop says the sector
    if any(not h.phrase.verbal and h.distance == 0 for h in kept):
        kept = [h for h in kept if not h.phrase.verbal]
    return kept, customers_only


_FUNCTION_WORDS: Final = frozenset(
    "and et or ou of de du des la le les the a an in en for pour to we on nous is are est our "
    "notre nos with avec but mais not pas no".split())


def _allowed_edits(query: str, key: str) -> int:
    """One typo in 5 to 8 letters; two from 9 letters, or 8 when the first letter is right."""
    shortest = min(len(query), len(key))
    return 2 if shortest >= 9 or (shortest == 8 and query[0] == key[0]) else 1


def _typos(index: _Index, stems: Sequence[str], exact: Sequence[_Hit]) -> list[_Hit]:
    """Words, or 2–3 words glued, that are a typo of a phrase (see :func:`_allowed_edits`)."""
    hits: list[_Hit] = []
    words = stems[:FUZZY_WORDS]
    for n in range(1, min(3, len(words)) + 1):
        for i in range(len(words) - n + 1):
            if n > 1 and _FUNCTION_WORDS.intersection(words[i:i + n]):
                continue  # "and IT" is not a typo of "audit"
            query = "".join(words[i:i + n])
            if len(query) < 5 or query in index.exact or any(
                    h.start <= i and i + n <= h.end for h in exact):
                continue
            keys, phrases = index.fuzzy.get(len(query), ((), ()))
            if not keys:
                continue
            if any(i < h.end and h.start < i + n and not (i <= h.start and h.end <= i + n)
                   for h in exact):  # checked before the costly search: it does not need it
                continue  # "real estate agency" must not turn into "state agency"
            found = process.extractOne(query, keys, scorer=OSA.distance, score_cutoff=2)
            if found is None:
                continue
            key, distance, position = found
            if distance > _allowed_edits(query, key):
                continue
            inside = [h for h in exact if i <= h.start and h.end <= i + n]
            if inside and (distance > 1 or all(h.phrase.option_id == phrases[position].option_id
                                               for h in inside)):
                continue  # overriding a word spelt right takes a longer phrase one edit away
            hits.append(_Hit(phrases[position], i, i + n, int(distance)))
    return hits


def _match_phrases(index: _Index, stems: Sequence[str], answer: Normalised, lang: str) -> Match:
    exact = _contained(index, stems)
    hits = exact + _typos(index, stems, exact)
    scope = scope_of_cleaned(answer.cleaned, answer.folded.split()[:len(stems)]) if hits else None
    customers_only = False
    if scope is not None:
        hits, customers_only = _in_scope(hits, scope)
    if not hits:
        return NO_MATCH
    match = _resolve(hits, stems, answer.text, lang)
    if customers_only and match.option_id is not None and match.confidence >= ACCEPT_CONFIDENCE:
        return Match(match.option_id, None, 0.7, (match.option_id,))  # "we sell to hospitals"
    return match


def _phrase_with_digits(index: _Index, folded: str) -> str | None:
    """An option named by a phrase with digits ("fortune 500", "b2b saas"), as whole words."""
    padded = f" {folded} "
    return next((p.option_id for p in index.phrases_with_digits if f" {p.text} " in padded), None)


# --- quantities -----------------------------------------------------------------------------


def _parser_for(question: BandedQuestion) -> Callable[[Normalised], Quantity | None]:
    if isinstance(question, MoneyQuestion):
        return money_in
    if isinstance(question, TimeframeQuestion):
        return days_in
    return count_in


def _match_banded(question: BandedQuestion, index: _Index, answer: Normalised,
                  stems: Sequence[str], lang: str, today: date | None) -> Match:
    parse = _parser_for(question)
    folded = answer.folded
    if today is not None and isinstance(question, TimeframeQuestion):
        dated = calendar_days_in(folded, today)  # "Q3", "fin janvier": before synonyms
        if dated is not None:
            return period_match(question, dated)
    exact = index.exact.get("".join(stems))
    option_id = exact.option_id if exact is not None else index.labels_with_digits.get(folded)
    if option_id is None:
        option_id = _phrase_with_digits(index, folded)
    quantity = parse(answer)
    if option_id is not None:
        value = None
        if quantity is not None and band_match(question, quantity).option_id == option_id:
            value = quantity.value
        return Match(option_id, value, 1.0 if exact is not None else 0.9)
    if quantity is not None:
        if isinstance(question, MoneyQuestion) and quantity.bare and 0 < quantity.value < 100:
            return thousands_or_not(question, quantity)
        return band_match(question, quantity)
    return _match_phrases(index, stems, answer, lang)


def match_answer(question: QuestionBase, text: str, *, lang: str,
                 today: date | None = None) -> Match:
    """What `text` answers to `question` (choice, number, money or timeframe).

    `today` is the day the message was sent: dates in a timeframe answer ("Q3",
    "in March", "fin janvier", "next spring") are read relative to it, and not
    read at all without it. Never raises; questions without options (text,
    email, phone) match nothing.
    """
    if not isinstance(question, ChoiceQuestion | BandedQuestion):
        return NO_MATCH
    return match_normalised(question, normalise(text[:MAX_CHARS]), lang=lang, today=today)


def match_normalised(question: QuestionBase, answer: Normalised, *, lang: str,
                     today: date | None = None) -> Match:
    """:func:`match_answer` of an answer already cut to :data:`MAX_CHARS` and normalised."""
    if not isinstance(question, ChoiceQuestion | BandedQuestion):
        return NO_MATCH
    folded = answer.folded
    stems = [_stem(w) for w in folded.split()[:MAX_WORDS]]
    index = _index_for(question)
    if isinstance(question, BandedQuestion):
        return _match_banded(question, index, answer, stems, lang, today)
    if not stems:
        return NO_MATCH
    exact = index.exact.get("".join(stems))
    if exact is not None:
        return Match(exact.option_id, None, 1.0)
    named = _phrase_with_digits(index, folded)
    if named is not None:
        return Match(named, None, 0.95)
    return _match_phrases(index, stems, answer, lang)

