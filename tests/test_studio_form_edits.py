"""Form fields become edits of the draft's YAML; malformed fields are refused with a message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bot.studio.form_edits import apply_edit, parse_edit
from bot.studio.form_view import script_form
from conversations.loader import StrictLoader
from conversations.source_edits import EditError

DEFAULT = (Path(__file__).parent.parent / "conversations/scripts/default.yaml").read_text()


def no_synonyms(*_: object) -> tuple[str, int]:
    raise AssertionError("not a synonym edit")


def edit(**fields: object) -> str:
    form = {k: json.dumps(v) if k == "path" else str(v) for k, v in fields.items()}
    return apply_edit(DEFAULT, parse_edit(form), default_lang="en",
                      add_synonym=no_synonyms).text


def test_points_thresholds_and_band_ends_are_numbers() -> None:
    data = yaml.load(edit(op="number", path=["scoring", "thresholds", "sql"], value="75"),
                     Loader=StrictLoader)
    assert data["scoring"]["thresholds"] == {"mql": 40, "sql": 75}
    data = yaml.load(edit(op="number", path=["questions", 0, "options", 0, "points", "intent"],
                          value=" 5 "), Loader=StrictLoader)
    assert data["questions"][0]["options"][0]["points"] == {"fit": 20, "intent": 5}
    cleared = yaml.load(edit(op="number", path=["questions", 0, "options", 0, "points", "fit"],
                             value=""), Loader=StrictLoader)
    assert cleared["questions"][0]["options"][0]["points"] == {}
    with pytest.raises(EditError, match="not a number"):
        edit(op="number", path=["scoring", "thresholds", "sql"], value="seventy")


def test_an_option_is_added_with_its_labels() -> None:
    text = edit(op="option_add", path=["questions", 0, "options"], value="consulting",
                label_en="Consulting", label_fr="Conseil")
    option = yaml.load(text, Loader=StrictLoader)["questions"][0]["options"][-1]
    assert option == {"id": "consulting", "label": {"en": "Consulting", "fr": "Conseil"}}
    with pytest.raises(EditError, match="not a valid id"):
        edit(op="option_add", path=["questions", 0, "options"], value="Big One", label_en="x")
    with pytest.raises(EditError, match="a label"):
        edit(op="option_add", path=["questions", 0, "options"], value="x")


@pytest.mark.parametrize("fields, message", [
    ({"op": "drop_table"}, "unknown edit"),
    ({"op": "text", "path": "{not json"}, "garbled"),
    ({"op": "text", "path": '[{"a": 1}]'}, "garbled"),
    ({"op": "text", "path": "[]", "lang": "de"}, "unknown language"),
    ({"op": "move", "path": '["questions"]', "index": "x"}, "not a whole number"),
])
def test_malformed_fields_are_refused(fields: dict[str, str], message: str) -> None:
    with pytest.raises(EditError, match=message):
        parse_edit(fields)


def form_of(text: str):  # type: ignore[no-untyped-def]
    from bot.lifecycle.api import ScriptLifecycle
    from bot.studio.drafts import checked

    _, problems = checked(ScriptLifecycle(None), text)  # type: ignore[arg-type]  # no database
    return script_form(yaml.load(text, Loader=StrictLoader), list(problems))


def test_a_problem_is_shown_beside_the_field_it_concerns() -> None:
    form = form_of(DEFAULT.replace('label: {en: "Software & SaaS", fr: "Logiciel & SaaS"}',
                                   'label: {en: "Software & SaaS"}'))
    sector = form.question_by_id("sector")
    assert sector is not None
    software = sector.options[0]
    assert [p.message for p in form.problems_under(software.label.path)] == [
        "missing the fr text; the script declares languages en, fr"]
    assert not form.problems_under(sector.options[1].path)


def test_a_band_order_problem_is_shown_at_the_top_of_its_question() -> None:
    form = form_of(edit(op="number", path=["questions", 1, "bands", 1, "max"], value="5"))
    size = form.question_by_id("company_size")
    assert size is not None
    at_top = form.problems_under(("questions", size.index),
                                 but=(size.ask.path, ("questions", size.index, "bands")))
    assert any("not above the previous band's end 10" in p.message for p in at_top)
