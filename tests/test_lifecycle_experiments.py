"""A/B experiments: hashed assignment, variants kept, per-variant report, stop keeps one."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.bootstrap import Container, build
from bot.lifecycle.errors import BadExperiment, UnknownVersion
from bot.lifecycle.experiments import (
    assign_variant,
    parse_variant,
    two_proportion_p_value,
    wilson_interval,
)
from bot.lifecycle.models import Variant, VariantSpec
from bot.service import ConversationKey, Profile
from bot.settings import Settings
from conversations.exchange import Inbound
from tests.lifecycle_helpers import DEFAULT_TEXT, variant_of
from tests.lifecycle_seed import tap

HALVES = (Variant(name="a", version=1, weight=50), Variant(name="b", version=2, weight=50))
# Under b the hot path (score 105) stays MQL.
STRICT = variant_of(DEFAULT_TEXT, "thresholds: {mql: 40, sql: 70}",
                    "thresholds: {mql: 40, sql: 108}").replace("expect: {stage: sql",
                                                               "expect: {stage: mql")
HOT = [tap("sector", "software"), tap("company_size", "enterprise"), tap("budget", "gt_100k"),
       tap("urgency", "now"), Inbound.parse_text("Ada"), Inbound.parse_text("Engines"),
       Inbound.parse_text("ada@example.com"), Inbound(kind="choice", choice="s:phone")]


def test_a_fifty_fifty_split_is_about_half_and_stable() -> None:
    chats = [str(100_000 + n) for n in range(1000)]
    assigned = [assign_variant("telegram", chat, "spring", HALVES).name for chat in chats]
    counts = Counter(assigned)
    # Binomial(1000, 0.5): sd ≈ 15.8, so ±4 sd is 437–563.
    assert 437 <= counts["a"] <= 563 and counts["a"] + counts["b"] == 1000
    assert assigned == [assign_variant("telegram", c, "spring", HALVES).name for c in chats]
    other = [assign_variant("telegram", c, "autumn", HALVES).name for c in chats]
    assert other != assigned  # another experiment reshuffles
    uneven = Counter(assign_variant("telegram", c, "spring", (
        Variant(name="a", version=1, weight=90), Variant(name="b", version=2, weight=10))).name
        for c in chats)
    assert 60 <= uneven["b"] <= 140


def test_statistics() -> None:
    low, high = wilson_interval(50, 100) or (0.0, 0.0)
    assert round(low, 4) == 0.4038 and round(high, 4) == 0.5962
    assert wilson_interval(0, 0) is None
    assert wilson_interval(0, 20) is not None
    p = two_proportion_p_value(60, 100, 40, 100)
    assert p is not None and round(p, 4) == 0.0047
    assert two_proportion_p_value(5, 10, 5, 10) == 1.0


@pytest.mark.parametrize("spec,message", [
    ("a=1", "write NAME=VERSION:WEIGHT"),
    ("a=x:50", "is not a version number"),
    ("a=1:0", "is not a positive whole number"),
    ("a=1:-5", "is not a positive whole number"),
    ("a=1:2.5", "is not a positive whole number"),
    ("=1:50", "the name must be"),
])
def test_a_bad_variant_is_one_clear_line(spec: str, message: str) -> None:
    with pytest.raises(BadExperiment, match=message):
        parse_variant(spec)


def say(container: Container, chat: str, *messages: Inbound) -> None:
    for inbound in messages:
        container.service.handle_message(ConversationKey("telegram", chat), inbound,
                                         message_id=None, profile=Profile(first_name="Ada"))


def conversation_variants(container: Container) -> dict[str, tuple[int, str | None]]:
    with container.engine.connect() as db:
        rows = db.execute(text(
            "SELECT l.chat_id, c.version_number, c.variant FROM conversations c "
            "JOIN leads l ON l.id = c.lead_id ORDER BY c.id")).all()
    return {chat: (version, variant) for chat, version, variant in rows}


def test_experiment_end_to_end(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
                        leadbot_script_reload_seconds=0)
    container = build(settings)
    try:
        service = container.lifecycle
        assert service.save_version(STRICT, author="ada").number == 2
        # Started before the experiment: keeps the version it runs under (v1, SQL at 70).
        early = next(c for c in (f"early-{n}" for n in range(100))
                     if assign_variant("telegram", c, "spring", HALVES).name == "b")
        say(container, early, Inbound.parse_text("/start"))

        before = service.deployments()
        for bad in ([VariantSpec(name="a", version=1, weight=50),
                     VariantSpec(name="b", version=2, weight=40)],
                    [VariantSpec(name="a", version=1, weight=100)],
                    [VariantSpec(name="a", version=1, weight=50),
                     VariantSpec(name="a", version=2, weight=50)]):
            with pytest.raises(BadExperiment):
                service.start_experiment("spring", bad, author="ada")
        with pytest.raises(UnknownVersion):
            service.start_experiment("spring", [VariantSpec(name="a", version=1, weight=50),
                                                VariantSpec(name="b", version=7, weight=50)],
                                     author="ada")
        assert service.deployments() == before

        started = service.start_experiment(
            "spring", [VariantSpec(name=v.name, version=v.version, weight=v.weight)
                       for v in HALVES], author="ada", note="stricter SQL?")
        assert (started.kind, started.experiment, started.baseline_version) == (
            "experiment_start", "spring", 1)
        with pytest.raises(BadExperiment, match="is running"):
            service.start_experiment("other", [VariantSpec(name="a", version=1, weight=50),
                                               VariantSpec(name="b", version=2, weight=50)],
                                     author="ada")

        chats = [str(500_000 + n) for n in range(1000)]
        hot = set(chats[::3])
        for chat in chats:
            say(container, chat, Inbound.parse_text("/start"), *(HOT if chat in hot else ()))
        say(container, early, *HOT)

        recorded = conversation_variants(container)
        expected = {chat: assign_variant("telegram", chat, "spring", HALVES) for chat in chats}
        assert {chat: recorded[chat] for chat in chats} == {
            chat: (v.version, v.name) for chat, v in expected.items()}
        assert recorded[early] == (1, None)
        with container.uow() as uow:
            lead = uow.leads.by_chat("telegram", early)
            assert lead is not None and lead.stage == "sql"

        status = service.experiment_status()
        assert status is not None and status.running and status.name == "spring"
        by_name = {v.variant: v for v in status.variants}
        for name in ("a", "b"):
            mine = [c for c in chats if expected[c].name == name]
            mine_hot = [c for c in mine if c in hot]
            counts = by_name[name]
            assert (counts.started, counts.completed, counts.mql) == (
                len(mine), len(mine_hot), len(mine_hot))
            assert counts.sql == (len(mine_hot) if name == "a" else 0)
        assert 437 <= by_name["a"].started <= 563
        assert by_name["a"].significant is None and by_name["b"].significant is True
        assert by_name["a"].median_seconds_to_sql is not None

        # A restart (another container on the same database) agrees on every chat.
        again = build(settings)
        try:
            for chat in chats[:50]:
                say(again, chat, Inbound.parse_text("/restart"))
            assert {c: v for c, v in conversation_variants(again).items() if c in chats[:50]} == {
                chat: (expected[chat].version, expected[chat].name) for chat in chats[:50]}
        finally:
            again.close()

        with pytest.raises(BadExperiment, match="has no variant 'c'"):
            service.stop_experiment("spring", "c", author="ada")
        with pytest.raises(BadExperiment, match="'autumn' is not running"):
            service.stop_experiment("autumn", "b", author="ada")
        stopped = service.stop_experiment("spring", "b", author="ada")
        assert (stopped.kind, stopped.version) == ("experiment_stop", 2)
        say(container, "after-stop", Inbound.parse_text("/start"))
        assert conversation_variants(container)["after-stop"] == (2, None)
        final = service.experiment_status("spring")
        assert final is not None and not final.running and final.kept == "b"
    finally:
        container.close()
