"""Form edits rewrite only the span they concern: comments, quoting and layout stay."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
import yaml

from conversations.source_edits import (
    EditError,
    add_item,
    delete_key,
    move_item,
    remove_item,
    set_text,
    set_value,
)
from conversations.loader import StrictLoader, parse_script

DEFAULT = (Path(__file__).parent.parent / "conversations/scripts/default.yaml").read_text()

SMALL = """\
# Our script: keep this comment
id: small
languages: [en, fr]
greeting: "Hello!"   # said first
questions:
  # the sector comes first
  - id: sector
    type: choice
    ask: "Which sector?"
    options:
      - id: software
        label: {en: "Software", fr: "Logiciel"}
        synonyms: [saas, app]
        points: {fit: 20}
      - id: other
        label: {en: "Other", fr: "Autre"}

  # then the size
  - id: size
    type: number
    ask:
      en: "How many people?"
      fr: "Combien de personnes ?"
    bands:
      - id: tiny
        max: 10
        label: {en: "1-10", fr: "1 à 10"}
        synonyms:
          - micro
      - {id: big, label: {en: "More", fr: "Plus"}}
scoring:
  thresholds: {mql: 40, sql: 70}
"""


def data(text: str) -> dict:
    return yaml.load(text, Loader=StrictLoader)


def changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(),
                                                  lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_a_french_wording_changes_one_line_of_the_default_script() -> None:
    after = set_text(DEFAULT, ("questions", 0, "ask"), "fr", "Quel est votre secteur ?",
                     default_lang="en")
    assert data(after)["questions"][0]["ask"] == {
        "en": "Which sector is your company in?", "fr": "Quel est votre secteur ?"}
    assert changed_lines(DEFAULT, after) == [
        '-      fr: "Dans quel secteur est votre entreprise ?"',
        '+      fr: "Quel est votre secteur ?"',
    ]
    parse_script(after, filename="draft.yaml")


def test_a_synonym_joins_a_multi_line_flow_list_without_reflowing_it() -> None:
    path = ("questions", 0, "options", 0, "synonyms", "fr")
    after = add_item(DEFAULT, path, "editeur de progiciels")
    words = data(after)["questions"][0]["options"][0]["synonyms"]["fr"]
    assert words[-1] == "editeur de progiciels" and len(words) == len(
        data(DEFAULT)["questions"][0]["options"][0]["synonyms"]["fr"]) + 1
    assert len(changed_lines(DEFAULT, after)) == 2  # the list's last line, before and after
    assert DEFAULT.count("\n") == after.count("\n")


def test_comments_survive_every_kind_of_edit() -> None:
    text = SMALL
    text = set_text(text, ("questions", 0, "ask"), "fr", "Quel secteur ?", default_lang="en")
    text = set_value(text, ("questions", 0, "options", 0, "points", "intent"), 5)
    text = add_item(text, ("questions", 0, "options", 0, "synonyms"), "cloud software")
    text = add_item(text, ("questions", 1, "bands", 0, "synonyms"), "tiny team")
    text = remove_item(text, ("questions", 0, "options", 0, "synonyms"), 0)
    text = set_value(text, ("questions", 1, "bands", 0, "max"), 20)
    text = set_value(text, ("scoring", "thresholds", "sql"), 75)
    text = set_value(text, ("scoring", "temperature", "hot"), 55)
    for comment in ("# Our script: keep this comment", "# said first",
                    "# the sector comes first", "# then the size"):
        assert comment in text
    got = data(text)
    sector = got["questions"][0]
    assert sector["ask"] == {"en": "Which sector?", "fr": "Quel secteur ?"}
    assert sector["options"][0]["points"] == {"fit": 20, "intent": 5}
    assert sector["options"][0]["synonyms"] == ["app", "cloud software"]
    assert got["questions"][1]["bands"][0]["synonyms"] == ["micro", "tiny team"]
    assert got["questions"][1]["bands"][0]["max"] == 20
    assert got["scoring"] == {"thresholds": {"mql": 40, "sql": 75}, "temperature": {"hot": 55}}


def test_questions_move_with_the_comment_above_them() -> None:
    after = move_item(SMALL, ("questions",), 1, -1)
    assert [q["id"] for q in data(after)["questions"]] == ["size", "sector"]
    assert after.index("# then the size") < after.index("- id: size") < after.index(
        "# the sector comes first") < after.index("- id: sector")
    assert move_item(after, ("questions",), 0, 1) == SMALL or [
        q["id"] for q in data(move_item(after, ("questions",), 0, 1))["questions"]
    ] == ["sector", "size"]
    assert move_item(SMALL, ("questions",), 0, -1) == SMALL  # already first


def test_default_script_questions_reorder_and_still_validate() -> None:
    after = move_item(DEFAULT, ("questions",), 2, 1)
    ids = [q["id"] for q in data(after)["questions"]]
    assert ids[2:4] == ["urgency", "budget"]
    parse_script(after, filename="draft.yaml")


def test_options_are_added_and_removed() -> None:
    after = add_item(SMALL, ("questions", 0, "options"),
                     {"id": "finance", "label": {"en": "Finance", "fr": "Finance"}})
    options = data(after)["questions"][0]["options"]
    assert [o["id"] for o in options] == ["software", "other", "finance"]
    assert options[2]["label"] == {"en": "Finance", "fr": "Finance"}
    assert "      - id: finance\n        label: {en: " in after
    removed = remove_item(after, ("questions", 0, "options"), 1)
    assert [o["id"] for o in data(removed)["questions"][0]["options"]] == ["software", "finance"]
    assert "# then the size" in removed and removed.count("- id: other") == 0


def test_a_plain_string_text_gains_a_second_language() -> None:
    after = set_text(SMALL, ("greeting",), "fr", "Bonjour !", default_lang="en")
    assert data(after)["greeting"] == {"en": "Hello!", "fr": "Bonjour !"}
    assert '# said first' in after
    same_lang = set_text(SMALL, ("greeting",), "en", "Hi!", default_lang="en")
    assert data(same_lang)["greeting"] == "Hi!"


def test_flow_items_and_keys_are_removed_cleanly() -> None:
    after = remove_item(SMALL, ("languages",), 1)
    assert data(after)["languages"] == ["en"]
    after = delete_key(SMALL, ("questions", 0, "options", 0, "label", "fr"))
    assert data(after)["questions"][0]["options"][0]["label"] == {"en": "Software"}
    after = delete_key(SMALL, ("questions", 1, "ask", "fr"))
    assert data(after)["questions"][1]["ask"] == {"en": "How many people?"}


def test_hostile_text_is_written_as_a_quoted_string() -> None:
    nasty = 'x"\n: {y} # <script>alert(1)</script>'
    after = set_text(SMALL, ("questions", 0, "ask"), "en", nasty, default_lang="en")
    assert data(after)["questions"][0]["ask"] == nasty
    synonym = add_item(SMALL, ("questions", 0, "options", 0, "synonyms"), "a, b: [c]")
    assert data(synonym)["questions"][0]["options"][0]["synonyms"][-1] == "a, b: [c]"


def test_edits_refuse_what_they_cannot_do_with_a_clear_message() -> None:
    with pytest.raises(EditError, match="YAML view"):
        set_value("id: [unclosed\n", ("id",), "x")
    with pytest.raises(EditError, match="empty"):
        set_text(SMALL, ("greeting",), "en", "  ", default_lang="en")
    with pytest.raises(EditError, match="not a list"):
        add_item(SMALL, ("greeting",), "x")
    with pytest.raises(EditError, match="no item"):
        remove_item(SMALL, ("questions", 0, "options"), 7)


def test_the_lifecycle_adds_a_synonym_in_place_bands_included() -> None:
    from bot.lifecycle.errors import LifecycleError
    from bot.lifecycle.synonyms import with_synonym

    after = with_synonym(DEFAULT, "sector", "software", "editeur de progiciels", "fr")
    assert len(changed_lines(DEFAULT, after)) == 2
    # A band of a question that also has options (budget: bands + "unknown").
    band = with_synonym(DEFAULT, "budget", "5k_20k", "a few grand", "en")
    assert data(band)["questions"][2]["bands"][1]["synonyms"] == {"en": ["a few grand"]}
    parse_script(band, filename="draft.yaml")
    with pytest.raises(LifecycleError, match="already a synonym"):
        with_synonym(DEFAULT, "sector", "software", "SaaS", "en")
    with pytest.raises(LifecycleError, match="no option 'nope'"):
        with_synonym(DEFAULT, "sector", "nope", "x", "en")
