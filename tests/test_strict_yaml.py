"""`strict_yaml.compose` gives exactly StrictLoader's tree or error, however it composes it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from conversations.strict_yaml import StrictLoader, compose

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted((ROOT / "conversations" / "scripts").glob("*.yaml"))

Shape = list[tuple[str, str, int, int, str | None]]


def shape(node: yaml.Node | None) -> Shape | None:
    """Every node's kind, tag, start and value, depth first: what the loader reads of a tree."""
    if node is None:
        return None
    found: Shape = []
    pending = [node]
    while pending:
        current = pending.pop()
        value = current.value if isinstance(current, yaml.ScalarNode) else None
        found.append((type(current).__name__, current.tag, current.start_mark.line,
                      current.start_mark.column, value))
        if isinstance(current, yaml.MappingNode):
            pending.extend(part for pair in current.value for part in pair)
        elif isinstance(current, yaml.SequenceNode):
            pending.extend(current.value)
    return found


def strict_compose(text: str) -> yaml.Node | None:
    return yaml.compose(text, Loader=StrictLoader)


def answer(compose_it: Callable[[str], yaml.Node | None], text: str) -> tuple[str, object]:
    """A tree's shape, or the error's type and message."""
    try:
        return "tree", shape(compose_it(text))
    except yaml.YAMLError as exc:
        return "error", f"{type(exc).__name__}: {exc}"


def answers(text: str) -> tuple[tuple[str, object], tuple[str, object]]:
    """What StrictLoader and compose each make of `text`."""
    return answer(strict_compose, text), answer(compose, text)


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_the_bundled_scripts_compose_alike(path: Path) -> None:
    strict, fast = answers(path.read_text(encoding="utf-8"))
    assert strict[0] == "tree"
    assert fast == strict


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML built without libyaml")
def test_libyaml_composes_the_bundled_script() -> None:
    root = compose(SCRIPTS[0].read_text(encoding="utf-8"))
    assert root is not None
    assert root.start_mark.buffer is None  # libyaml's marks keep no buffer; PyYAML's do


@pytest.mark.parametrize("text", [
    "a:\tb\n",                      # a tab as separator: PyYAML refuses it, libyaml does not
    "synonyms: [how much?, cost]\n",  # `?` inside a flow list: likewise
    "a: |#\n  x\n",                 # a block scalar header glued to a comment
    "a: b\n\ufeffc: d\n",           # a byte-order mark inside the text
    "a: !\n",                       # an empty tag: null for PyYAML, text for libyaml
    "? k\n",                        # an explicit key with no value
    "a: 1\nb:",                     # an empty value at the very end
    "---",                          # an empty document
    "a: &x [1]\nb: *x\n",           # an alias: refused, at the alias
    "a: " + "[" * 50 + "]" * 50 + "\n",  # nested too deeply
    "a: b\r\nc: d\r\n",             # Windows line ends
])
def test_texts_libyaml_reads_differently_get_pyyamls_answer(text: str) -> None:
    strict, fast = answers(text)
    assert fast == strict


YAMLISH = st.lists(st.sampled_from([
    "a", "é", "😀", "id", "1", "0x1", "1.5", "true", "no", "~", "null", ":", ": ", "- ", "\n",
    "\n  ", "\n    ", " ", "[", "]", "{", "}", ",", "#", " #", "'", '"', "?", "|", ">", "!",
    "!!str ", "&x ", "*x", "%", "@", "`", "\\", "...", "---", "\t", "\r\n", "\r", "\x85",
    "\u2028", "\ufeff", "-", "+",
]), max_size=24).map("".join)


@settings(max_examples=3000, deadline=None)
@given(YAMLISH)
def test_any_text_gets_pyyamls_answer(text: str) -> None:
    strict, fast = answers(text)
    assert fast == strict
