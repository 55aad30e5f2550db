"""Which band a quantity read from an answer falls in: head counts, amounts, delays.

A single value falls in one band. A range ("20-30k", "3-6 months") maps to a
band when both ends fall in it, else to the band holding most of it, else the
prospect is asked. A calendar period ("Q3") stands for its middle day. A bare
small budget ("around 50") may mean thousands: the prospect is asked.
"""

from __future__ import annotations

import math

from conversations.dsl import BandedQuestion
from conversations.match_result import Match
from conversations.quantities import Quantity

__all__ = ["band_match", "period_match", "thousands_or_not"]


def band_match(question: BandedQuestion, quantity: Quantity) -> Match:
    """The band of a quantity: a range maps to a band when both ends fall in it."""
    value = quantity.value
    low, high = quantity.low, quantity.high
    if low < high and not math.isinf(high):
        high = math.nextafter(high, -math.inf)  # "5-20k" is the 5–20 k€ band, not 20–100
    if not math.isinf(low) and not math.isinf(high) and high >= question.min:
        low = max(low, question.min)  # "0-5 people": the first band, not "below min"
    ends = [v for v in (low, high) if not math.isinf(v)]
    bands = [question.band_for(v) for v in ends]
    if any(b is None for b in bands):
        return Match(None, value, 0.0)  # below the question's minimum: re-ask
    ids = list(dict.fromkeys(b.id for b in bands if b is not None))
    if len(ids) == 1:
        confidence = 0.95 if len(ends) == 2 and low == high else 0.9
        return Match(ids[0], value, confidence - 0.05 * quantity.approximate)
    # A range across bands: the band holding most of it ("3-6 months" is 91–180
    # days but for its first day), else the midpoint's band, to be confirmed.
    share, widest = _widest_band(question, low, high)
    if share >= 0.75:
        return Match(widest, value, 0.8 - 0.05 * quantity.approximate)
    middle = question.band_for(value)
    best = middle.id if middle is not None else ids[0]
    return Match(best, value, 0.65, tuple(dict.fromkeys((best, *ids))))


def period_match(question: BandedQuestion, period: Quantity) -> Match:
    """The band of a calendar period ("Q3", "this summer"): the band of its middle day.

    A period is when the prospect means to start, not a range of guesses, so its
    middle stands for it; when that band holds less than half of the period
    ("cet été" said in May spans three bands), the prospect is asked which.
    """
    if math.isinf(period.low) or math.isinf(period.high):
        return band_match(question, period)
    middle = question.band_for(period.value)
    if middle is None:
        return Match(None, period.value, 0.0)
    share = _share_of(question, middle.id, period.low, period.high)
    if share >= 1.0:
        return Match(middle.id, period.value, 0.85)
    if share >= 0.5:
        return Match(middle.id, period.value, 0.8)
    ids = [b.id for v in (period.low, period.high) if (b := question.band_for(v)) is not None]
    return Match(middle.id, period.value, 0.65, tuple(dict.fromkeys((middle.id, *ids))))


def _share_of(question: BandedQuestion, band_id: str, low: float, high: float) -> float:
    """The share of [low, high] that falls in one band."""
    if high <= low:
        return 1.0
    lower = question.min
    for band in question.bands:
        upper = band.upper if band.upper is not None else math.inf
        if band.id == band_id:
            return max(0.0, min(high, upper) - max(low, lower)) / (high - low)
        lower = upper
    return 0.0


def _widest_band(question: BandedQuestion, low: float, high: float) -> tuple[float, str]:
    """The band covering the largest share of [low, high], and that share."""
    best, best_id = -1.0, question.bands[0].id
    lower = question.min
    for band in question.bands:
        upper = band.upper if band.upper is not None else math.inf
        overlap = min(high, upper) - max(low, lower)
        if overlap > best:
            best, best_id = overlap, band.id
        lower = upper
    return best / (high - low), best_id


def thousands_or_not(question: BandedQuestion, quantity: Quantity) -> Match:
    """ "around 50" as a budget: 50 € or 50 k€? Ask, offering both readings."""
    face = band_match(question, quantity)
    thousands = band_match(question, Quantity(quantity.low * 1000, quantity.high * 1000))
    options = tuple(dict.fromkeys(o for o in (thousands.option_id, face.option_id) if o))
    if len(options) < 2:
        return face
    return Match(options[0], quantity.value * 1000, 0.6, options)
