"""Which words of a typed answer are denied, or name the customers rather than the company.

"not finance, we are a hospital", "pas la banque mais l'assurance", "manufacturing?
no, we're a distributor": the denied sector is not the answer. "we make software
for banks", "on vend aux hôpitaux": the banks and the hospitals are the customers.
The matcher finds option phrases; this module says, for each phrase found, whether
the prospect denied it or named it as a customer.

An answer is cut into clauses at punctuation (",", ".", "?", ";", ":", brackets,
a dash between spaces) and before "but" / "mais" / "rather" / "plutôt"; a
negation or a customer word reaches to the end of its clause.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from conversations.textnorm import clean

__all__ = ["Scope", "scope_of", "scope_of_cleaned"]

_NEGATIONS: Final = frozenset(
    "not no non pas ni neither nor never jamais nope isn aren don doesn wasn weren".split())
# "not only", "not before next year" (a bound, not a denial)
_NOT_A_DENIAL: Final = frozenset(
    "only just seulement merely que before avant until till earlier later more less".split())
_HEDGES: Final = frozenset("sure certain exactly know precisely sur sais".split())
_PRONOUNS: Final = frozenset("we i it its our on nous c je j".split())
_ANSWERED_NO: Final = frozenset({"no", "non", "nope", "nah"})
_CLAUSE_WORDS: Final = frozenset("but mais rather plutot instead sinon".split())
_CUSTOMER_WORDS: Final = frozenset("for pour aux serving clients customers clientele".split())
_SELL_VERBS: Final = frozenset(
    "sell sells selling sold supply supplies supplying vend vendons vendent".split())
_TOKEN_RE: Final = re.compile(r"[^\W_]+|[,;.!?:()\[\]]|(?<=\s)[-]+(?=\s)")


@dataclass(frozen=True, slots=True)
class Scope:
    """The clause of each word of the folded answer, and the clauses answered "no"."""

    words: tuple[str, ...]
    clause: tuple[int, ...]
    denied_clauses: frozenset[int]

    def _before(self, start: int, covered: Callable[[int], bool]) -> list[tuple[int, str]]:
        """The words before `start` in its clause, except those inside option phrases."""
        clause = self.clause[start]
        return [(i, self.words[i]) for i in range(start - 1, -1, -1)
                if self.clause[i] == clause and not covered(i)]

    def denied(self, start: int, covered: Callable[[int], bool]) -> bool:
        """Whether the phrase at word `start` follows a negation in its clause."""
        if self.clause[start] in self.denied_clauses:
            return True
        for i, word in self._before(start, covered):
            if word not in _NEGATIONS:
                continue
            after = self.words[i + 1] if i + 1 < len(self.words) else ""
            first = i == 0 or self.clause[i - 1] != self.clause[i]
            if after in _NOT_A_DENIAL or (first and word in _ANSWERED_NO and after in _PRONOUNS):
                continue  # "not only…", "No we're a bank"
            if _HEDGES.intersection(self.words[max(0, i - 1):i + 3]):
                continue  # "not sure maybe retail", "je sais pas, peut-être la santé"
            return True
        return False

    def customers(self, start: int, covered: Callable[[int], bool]) -> bool:
        """Whether the phrase at word `start` names customers ("software for banks")."""
        for i, word in self._before(start, covered):
            if word in _CUSTOMER_WORDS:
                return True
            if word == "to" and self._sold(start, covered):
                return True  # "we sell software to banks"
        return False

    def _sold(self, start: int, covered: Callable[[int], bool]) -> bool:
        return any(word in _SELL_VERBS for _, word in self._before(start, covered))

    def goods(self, start: int, covered: Callable[[int], bool]) -> bool:
        """Whether the phrase at `start` is what is sold ("a shop selling furniture")."""
        before = self._before(start, covered)
        return bool(before) and before[0][1] in _SELL_VERBS


def scope_of(original: str, words: Sequence[str]) -> Scope | None:
    """The clauses of `original`, whose folded words are `words`; None if they do not align."""
    return scope_of_cleaned(clean(original), words)


def scope_of_cleaned(cleaned: str, words: Sequence[str]) -> Scope | None:
    """:func:`scope_of` of an answer already cleaned."""
    clause = 0
    clauses: list[int] = []
    found: list[str] = []
    ends_with_question: set[int] = set()
    for token in _TOKEN_RE.findall(cleaned):
        if token[0].isalnum() or token[0] == "_":
            if token in _CLAUSE_WORDS and clauses and clauses[-1] == clause:
                clause += 1
            found.append(token)
            clauses.append(clause)
        elif clauses and clauses[-1] == clause:
            if token == "?":
                ends_with_question.add(clause)
            clause += 1
    if found[:len(words)] != list(words):
        return None
    denied = frozenset(c for c in ends_with_question if any(
        clauses[i] == c + 1 and (i == 0 or clauses[i - 1] != c + 1) and found[i] in _ANSWERED_NO
        for i in range(len(found))))
    return Scope(tuple(found[:len(words)]), tuple(clauses[:len(words)]), denied)
