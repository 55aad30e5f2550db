"""Versions in the database: publish, list, show, diff, roll back; a broken script never goes live."""

from __future__ import annotations

import pytest

from bot.lifecycle.errors import InvalidScript, LifecycleError, UnknownVersion
from conversations.loader import ScriptError, parse_script
from tests.lifecycle_helpers import DEFAULT_TEXT, SECTOR_ASK, migrated, variant_of

SQL_RAISED = variant_of(DEFAULT_TEXT, "thresholds: {mql: 40, sql: 70}",
                        "thresholds: {mql: 40, sql: 80}")


def test_publish_list_show_diff_and_roll_back(database_url: str) -> None:
    with migrated(database_url) as db:
        service = db.lifecycle
        assert service.active_deployment() is None and service.list_versions() == []
        first = service.publish(DEFAULT_TEXT, author="ada", note="launch")
        second = service.publish(
            variant_of(SQL_RAISED, SECTOR_ASK, "What does your company do?"),
            author="bob", note="stricter")
        assert (first.version.number, second.version.number) == (1, 2)
        assert first.created and second.created and second.warnings == ()

        listed = service.list_versions()
        assert [(v.number, v.author, v.note, v.active) for v in listed] == [
            (2, "bob", "stricter", True), (1, "ada", "launch", False)]
        assert service.get_version(1).yaml_text == DEFAULT_TEXT
        assert service.active_deployment().version == 2  # type: ignore[union-attr]

        diff = service.diff(1, 2)
        assert [str(c) for c in diff.changes] == [
            "~ questions.sector.ask: {\"en\": \"Which sector is your company in?\", "
            "\"fr\": \"Dans quel secteur est votre entreprise ?\"} → {\"en\": \"What does your "
            "company do?\", \"fr\": \"Dans quel secteur est votre entreprise ?\"}",
            "~ scoring.thresholds.sql: 70 → 80",
        ]
        assert "-  thresholds: {mql: 40, sql: 70}" in diff.text_diff

        back = service.rollback(author="carol", note="too strict")
        assert (back.kind, back.version, back.author) == ("rollback", 1, "carol")
        assert [v.active for v in service.list_versions()] == [False, True]
        assert service.rollback(2, author="carol").version == 2
        # The whole history stays: every change with who and why.
        assert [(d.kind, d.version, d.author) for d in service.deployments()] == [
            ("rollback", 2, "carol"), ("rollback", 1, "carol"), ("publish", 2, "bob"),
            ("publish", 1, "ada")]

        # The same text again is not a new version: the old one is served again.
        again = service.publish(DEFAULT_TEXT, author="ada")
        assert (again.created, again.version.number) == (False, 1)


def test_a_broken_script_or_failing_example_is_refused_line_by_line(database_url: str) -> None:
    with migrated(database_url) as db:
        service = db.lifecycle
        service.publish(DEFAULT_TEXT, author="ada")
        before = db.counts()
        broken = DEFAULT_TEXT.replace("type: number", "type: numbr")
        with pytest.raises(ScriptError) as loader:
            parse_script(broken, filename="script.yaml")
        with pytest.raises(InvalidScript) as refused:
            service.publish(broken, author="ada")
        # The same lines and messages as `leadbot script check`.
        assert [(p.line, p.column, p.message) for p in refused.value.problems] == [
            (p.line, p.column, p.message) for p in loader.value.problems]
        assert "unknown question type 'numbr'" in refused.value.problems[0].message

        failing = variant_of(DEFAULT_TEXT, "expect: {stage: sql, temperature: hot",
                             "expect: {stage: mql, temperature: hot")
        problems = service.validate(failing)
        assert len(problems) == 1
        line = failing.splitlines()[problems[0].line - 1]
        assert line.strip() == "- name: hot SaaS lead reaches SQL"
        assert problems[0].message == ("example 'hot SaaS lead reaches SQL': stage is sql, "
                                       "expected mql")
        with pytest.raises(InvalidScript):
            service.publish(failing, author="ada")
        with pytest.raises(InvalidScript):
            service.publish("just: [text", author="ada")
        assert db.counts() == before  # nothing stored, nothing served
        assert service.active_deployment().version == 1  # type: ignore[union-attr]


def test_bad_input_gets_one_clear_line_and_changes_nothing(database_url: str) -> None:
    with migrated(database_url) as db:
        service = db.lifecycle
        with pytest.raises(LifecycleError, match="nothing is published yet"):
            service.rollback(author="ada")
        service.publish(DEFAULT_TEXT, author="ada")
        before = db.counts()
        with pytest.raises(UnknownVersion, match="no script version 9; `leadbot script history`"):
            service.rollback(9, author="ada")
        with pytest.raises(UnknownVersion):
            service.get_version(9)
        with pytest.raises(UnknownVersion):
            service.diff(1, 9)
        with pytest.raises(LifecycleError, match="the only one ever served"):
            service.rollback(author="ada")
        with pytest.raises(LifecycleError, match="author"):
            service.publish(SQL_RAISED, author="  ")
        assert db.counts() == before


def test_dropping_a_pinned_or_used_option_warns(database_url: str) -> None:
    with migrated(database_url) as db:
        service = db.lifecycle
        service.publish(DEFAULT_TEXT, author="ada")
        renamed = variant_of(DEFAULT_TEXT, "- id: software\n", "- id: saas\n")
        renamed = renamed.replace("sector: software", "sector: saas")
        problems = service.validate(renamed)
        assert problems == []
        result = service.publish(renamed, author="ada", note="rename")
        assert result.warnings == ("option sector.software is removed or renamed (a pinned id)",)
        diff = service.diff(1, 2)
        assert diff.warnings == result.warnings
        assert "- questions.sector.options.software: " in "\n".join(str(c) for c in diff.changes)
