"""The readable diff: synonyms, points, options, thresholds and routing, each named by path."""

from __future__ import annotations

from bot.lifecycle.diffing import compare
from conversations.loader import parse_script
from tests.lifecycle_helpers import DEFAULT_TEXT, variant_of


def test_each_kind_of_change_is_named() -> None:
    new_text = variant_of(DEFAULT_TEXT, "we sell online, sell products]",
                          "we sell online, sell products, boutique chic]")
    new_text = variant_of(new_text, "- {id: 5k_20k, below: 20000, label: {en: \"5–20 k€\", "
                          "fr: \"5 à 20 k€\"}, points: {intent: 10}}",
                          "- {id: 5k_20k, below: 20000, label: {en: \"5–20 k€\", "
                          "fr: \"5 à 20 k€\"}, points: {intent: 15}}")
    new_text = variant_of(new_text, 'channel: "#sales-finance"', 'channel: "#finance"')
    new_text = variant_of(new_text, "temperature: {warm: 30, hot: 60}",
                          "temperature: {warm: 35, hot: 60}")
    new_text = new_text.replace('expect: {stage: sql, options: {sector: finance, company_size: '
                                'large}, channel: "#sales-finance"}',
                                'expect: {stage: sql, options: {sector: finance, company_size: '
                                'large}, channel: "#finance"}')
    old = parse_script(DEFAULT_TEXT, filename="old")
    new = parse_script(new_text, filename="new")
    diff = compare(old, DEFAULT_TEXT, new, new_text, before="v1", after="v2")
    changes = {str(c) for c in diff.changes}
    assert "+ questions.sector.options.retail.synonyms.en: boutique chic" in changes
    assert ('~ questions.budget.options.5k_20k.points: {"fit": 0, "intent": 10} → '
            '{"fit": 0, "intent": 15}') in changes
    assert "~ scoring.temperature.warm: 30 → 35" in changes
    assert any(c.startswith("~ routing[0]:") and "#finance" in c for c in changes)
    assert {c.area for c in diff.changes} >= {"synonyms", "points", "temperature", "routing"}
    assert diff.warnings == ()
    assert "+               we sell online, sell products, boutique chic]" in diff.text_diff
