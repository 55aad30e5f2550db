"""In-place edits of a script's YAML source: only the edited span of text changes.

The workspace's form view and `leadbot script synonym add` change one thing at a
time (a wording, a label, a synonym, points, a band's end, a threshold, the order
of questions, an option added or removed).
Each edit finds the node it concerns in the composed YAML (the same parser and
positions as `conversations.loader`) and rewrites that span of text only, so
comments, blank lines, quoting and the layout of everything else stay as the
marketer wrote them, and a version diff shows the one line that changed.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import yaml

from conversations.strict_yaml import StrictLoader

Key = str | int
NodePath = tuple[Key, ...]
_PLAIN_SAFE = re.compile(r"^[^\W_][\w .'&/+-]*(?<! )$", re.UNICODE)


class EditError(ValueError):
    """An edit that cannot be applied to this text; the message says what to do."""


@dataclass(frozen=True, slots=True)
class Located:
    node: yaml.Node
    parent: yaml.Node | None
    key: Key | None


# --- reading ---------------------------------------------------------------------


def compose(text: str) -> yaml.Node:
    try:
        root = yaml.compose(text, Loader=StrictLoader)
    except yaml.YAMLError as exc:
        raise EditError(f"the YAML does not parse ({exc}); fix it in the YAML view first") from None
    if not isinstance(root, yaml.MappingNode):
        raise EditError("the script is not a mapping of keys; fix it in the YAML view first")
    return root


def child(node: yaml.Node, key: Key) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(key, str):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                found: yaml.Node = value_node
                return found
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        item: yaml.Node = node.value[key]
        return item
    return None


def find(root: yaml.Node, path: NodePath) -> Located | None:
    node: yaml.Node = root
    parent: yaml.Node | None = None
    for key in path:
        found = child(node, key)
        if found is None:
            return None
        parent, node = node, found
    return Located(node=node, parent=parent, key=path[-1] if path else None)


def content_end(node: yaml.Node) -> int:
    """Where the node's own text ends (a block collection's end mark runs into what follows)."""
    if isinstance(node, yaml.ScalarNode) or getattr(node, "flow_style", False):
        return node.end_mark.index
    if isinstance(node, yaml.MappingNode):
        ends = [content_end(v) for _, v in node.value] + [content_end(k) for k, _ in node.value]
    else:
        ends = [content_end(item) for item in node.value]
    return max(ends, default=node.start_mark.index)


# --- rendering values --------------------------------------------------------------


def render_scalar(value: str | float | bool, *, plain_ok: bool = False) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise EditError("numbers must be finite")
        return f"{value:g}" if value != int(value) else str(int(value))
    if plain_ok and _PLAIN_SAFE.match(value) and yaml.load(value, Loader=StrictLoader) == value:
        return value
    # JSON's string escapes are valid in a YAML double-quoted scalar.
    return json.dumps(value, ensure_ascii=False)


def render_flow(value: object, *, plain_ok: bool = True) -> str:
    if isinstance(value, Mapping):
        inner = ", ".join(f"{k}: {render_flow(v, plain_ok=False)}" for k, v in value.items())
        return "{" + inner + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(render_flow(v, plain_ok=True) for v in value) + "]"
    if isinstance(value, (str, int, float, bool)):
        return render_scalar(value, plain_ok=plain_ok)
    raise EditError(f"cannot write {value!r} into the script")


def _nested(keys: Sequence[Key], value: object) -> object:
    for key in reversed(keys):
        value = {key: value}
    return value


# --- text surgery -------------------------------------------------------------------


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _line_after(text: str, index: int) -> int:
    end = text.find("\n", index)
    return len(text) if end < 0 else end + 1


def _splice(text: str, start: int, end: int, new: str) -> str:
    return text[:start] + new + text[end:]


def _insert_key(text: str, mapping: yaml.Node, key: str, value: object) -> str:
    rendered = f"{key}: {render_flow(value, plain_ok=False)}"
    if not isinstance(mapping, yaml.MappingNode):
        raise EditError(f"cannot add {key!r} here: the YAML has a value, not a mapping")
    if mapping.flow_style or not mapping.value:
        close = mapping.end_mark.index - 1
        if text[close] != "}":
            raise EditError(f"cannot add {key!r}: edit this part in the YAML view")
        separator = ", " if mapping.value else ""
        return _splice(text, close, close, separator + rendered)
    first_key = mapping.value[0][0]
    indent = " " * first_key.start_mark.column
    at = _line_after(text, content_end(mapping))
    prefix = "" if text[:at].endswith("\n") or not text[:at] else "\n"
    return _splice(text, at, at, f"{prefix}{indent}{rendered}\n")


def set_value(text: str, path: NodePath, value: object) -> str:
    """Set the value at `path`, creating the missing mapping keys at its end."""
    root = compose(text)
    located = find(root, path)
    if located is not None:
        node = located.node
        if isinstance(node, yaml.ScalarNode) and isinstance(value, (str, int, float, bool)):
            plain_ok = node.style is None and isinstance(value, str)
            new = render_scalar(value, plain_ok=plain_ok)
        else:
            new = render_flow(value)
        return _splice(text, node.start_mark.index, content_end(node), new)
    for depth in range(len(path) - 1, -1, -1):
        parent = find(root, path[:depth])
        if parent is not None:
            missing = path[depth:]
            if not isinstance(missing[0], str):
                raise EditError(f"no item {missing[0]} at {_show(path[:depth])}")
            return _insert_key(text, parent.node, missing[0], _nested(missing[1:], value))
    raise EditError("nothing to edit")  # unreachable: the root always exists


def set_text(text: str, path: NodePath, lang: str, value: str, *, default_lang: str) -> str:
    """Set one language of a text (`ask`, `label`…), which may be a plain string today."""
    if not value.strip():
        raise EditError(f"the {lang} text is empty; write something or remove the language")
    root = compose(text)
    located = find(root, path)
    if located is not None and isinstance(located.node, yaml.ScalarNode):
        if lang == default_lang:
            return set_value(text, path, value)
        # A plain string is the default language's text: keep it and add the other one.
        both = {default_lang: str(located.node.value), lang: value}
        return _splice(text, located.node.start_mark.index, located.node.end_mark.index,
                       render_flow(both))
    return set_value(text, (*path, lang), value)


def delete_key(text: str, path: NodePath) -> str:
    """Remove a mapping key and its value (e.g. a text's language)."""
    root = compose(text)
    parent = find(root, path[:-1])
    if parent is None or not isinstance(parent.node, yaml.MappingNode):
        return text
    pairs = parent.node.value
    for index, (key_node, value_node) in enumerate(pairs):
        if key_node.value != path[-1]:
            continue
        if parent.node.flow_style:
            start = key_node.start_mark.index
            end = content_end(value_node)
            if index + 1 < len(pairs):
                end = pairs[index + 1][0].start_mark.index
            elif index > 0:
                start = content_end(pairs[index - 1][1])
            return _splice(text, start, end, "")
        start = _line_start(text, key_node.start_mark.index)
        return _splice(text, start, _line_after(text, content_end(value_node)), "")
    return text


def add_item(text: str, path: NodePath, value: object) -> str:
    """Append to the sequence at `path` (created, in flow style, when missing)."""
    root = compose(text)
    located = find(root, path)
    if located is None:
        return set_value(text, path, [value])
    node = located.node
    if not isinstance(node, yaml.SequenceNode):
        raise EditError(f"{_show(path)} is not a list; edit it in the YAML view")
    if node.flow_style:
        close = node.end_mark.index - 1
        separator = ", " if node.value else ""
        return _splice(text, close, close, separator + render_flow(value))
    if not node.value:
        raise EditError(f"{_show(path)} is an empty list; edit it in the YAML view")
    dash = _dash_index(text, node.value[-1])
    indent = " " * (dash - _line_start(text, dash))
    at = _line_after(text, content_end(node.value[-1]))
    return _splice(text, at, at, indent + "- " + _render_block_item(value, len(indent) + 2) + "\n")


def _render_block_item(value: object, indent: int) -> str:
    if not isinstance(value, Mapping):
        return render_flow(value)
    lines = [f"{key}: {render_flow(item, plain_ok=key == 'id')}" for key, item in value.items()]
    return ("\n" + " " * indent).join(lines)


def _dash_index(text: str, item: yaml.Node) -> int:
    index = item.start_mark.index - 1
    while index >= 0 and text[index] in " \t\r\n":
        index -= 1
    if index < 0 or text[index] != "-":
        raise EditError("this list is written in a way the form cannot edit; use the YAML view")
    return index


def _chunk(text: str, item: yaml.Node) -> tuple[int, int]:
    """An item's lines in a block sequence, with the comment lines directly above it."""
    start = _line_start(text, _dash_index(text, item))
    while start > 0:
        above = _line_start(text, start - 1)
        if not text[above:start].lstrip().startswith("#"):
            break
        start = above
    return start, _line_after(text, content_end(item))


def remove_item(text: str, path: NodePath, index: int) -> str:
    root = compose(text)
    located = find(root, path)
    if located is None or not isinstance(located.node, yaml.SequenceNode):
        raise EditError(f"{_show(path)} is not a list")
    items = located.node.value
    if not 0 <= index < len(items):
        raise EditError(f"{_show(path)} has no item {index + 1}; reload the page")
    item = items[index]
    if located.node.flow_style:
        start, end = item.start_mark.index, content_end(item)
        if index + 1 < len(items):
            end = items[index + 1].start_mark.index
        elif index > 0:
            start = content_end(items[index - 1])
        return _splice(text, start, end, "")
    start, end = _chunk(text, item)
    return _splice(text, start, end, "")


def move_item(text: str, path: NodePath, index: int, delta: int) -> str:
    """Swap an item of a block sequence with its neighbour (`delta` -1: up, +1: down)."""
    root = compose(text)
    located = find(root, path)
    if located is None or not isinstance(located.node, yaml.SequenceNode):
        raise EditError(f"{_show(path)} is not a list")
    items = located.node.value
    other = index + delta
    if not (0 <= index < len(items) and 0 <= other < len(items)):
        return text  # already first / last
    if located.node.flow_style:
        raise EditError("this list is on one line; reorder it in the YAML view")
    first, second = sorted((index, other))
    a_start, a_end = _chunk(text, items[first])
    b_start, b_end = _chunk(text, items[second])
    block_a, gap, block_b = text[a_start:a_end], text[a_end:b_start], text[b_start:b_end]
    if not block_b.endswith("\n"):
        block_b += "\n"
        block_a = block_a.rstrip("\n")
    return text[:a_start] + block_b + gap + block_a + text[b_end:]


def _show(path: NodePath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "the script"
