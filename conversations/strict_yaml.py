"""Script YAML into nodes, with no aliases and bounded nesting: PyYAML's reading, libyaml's speed.

`StrictLoader` is PyYAML's safe loader without YAML 1.1's surprising implicit types
(only `true`/`false` are booleans, dates stay text), aliases or unbounded nesting.
`compose` gives exactly the tree StrictLoader gives (errors and refusals included),
composed by libyaml when it is installed and the text is one both read alike.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

# Conditions nest (`all:` / `any:` / `not:`), but nothing a person writes goes this deep.
MAX_NESTING = 40
NESTED_TOO_DEEPLY = (f"nested more than {MAX_NESTING} levels deep; a script is never this deep — "
                     "check the indentation or the brackets")


class ScriptLimitExceeded(yaml.YAMLError):
    """The YAML uses an alias, or nests too deeply: refused before anything is built."""

    def __init__(self, mark: Any, message: str) -> None:
        super().__init__(message)
        self.line = mark.line + 1 if mark is not None else 1
        self.column = mark.column + 1 if mark is not None else 1
        self.message = message


class StrictLoader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1's surprising implicit types, aliases or unbounded nesting.

    An alias (`*name`) re-uses a node: ten lines of them expand to billions of
    values (the "billion laughs"), so scripts may not use them. Nesting is capped
    because composing, building and validating all recurse once per level.
    """

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            raise ScriptLimitExceeded(
                event.start_mark,
                f"YAML aliases (*{event.anchor}) are not allowed in a script; "
                "write the value out where it is needed",
            )
        if self._depth >= MAX_NESTING:
            raise ScriptLimitExceeded(event.start_mark, NESTED_TOO_DEEPLY)
        self._depth += 1
        try:
            node: yaml.Node | None = super().compose_node(parent, index)
            return node
        finally:
            self._depth -= 1


StrictLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


if yaml.__with_libyaml__:

    class LibyamlComposer(yaml.CBaseLoader):
        """libyaml's reader, scanner, parser and composer, with StrictLoader's tags.

        About eight times faster than PyYAML's own (40 ms → 5 ms for the bundled
        script), but it follows aliases and nests as deep as it is told: `compose` checks
        the tree and leaves anything unusual to StrictLoader.
        """

        yaml_implicit_resolvers = StrictLoader.yaml_implicit_resolvers


# Where libyaml and PyYAML read a text differently — a tab as a separator, a carriage
# return, a byte-order mark or Unicode line break inside the text, `|#`, a `!` tag, an
# explicit `? key`, a `?` inside `[…]` or `{…}` — the answer must stay PyYAML's: such texts
# go to StrictLoader. (Found by comparing both on millions of random texts; the test
# suite keeps comparing them.)
_LIBYAML_DIFFERS = re.compile(
    r"[\t\r\x85\u2028\u2029\ufeff]|[|>][-+0-9]*#"
    r"|(?:^[ ]*|[-:?,\[{][ ]+|[\[{,])[!?]|[\[{][^\n]*\?", re.MULTILINE)


def compose(text: str) -> yaml.Node | None:
    """The document's node tree: StrictLoader's answer, errors and refusals included.

    libyaml composes it when it can; a tree with a shared node (an alias) or deeper than
    MAX_NESTING, or a document libyaml refuses, is composed again by StrictLoader so
    the problem is reported exactly as it always was.
    """
    if yaml.__with_libyaml__ and not _LIBYAML_DIFFERS.search(text):
        try:
            root = yaml.compose(text, Loader=LibyamlComposer)
        except yaml.YAMLError:
            pass
        else:
            if root is not None and _plain_tree(root, last_line=text.rstrip().count("\n")):
                return root
    return yaml.compose(text, Loader=StrictLoader)


def _plain_tree(root: yaml.Node, *, last_line: int) -> bool:
    """True when no node is reached twice (no alias), none is nested too deeply, and no
    empty value ends the text (libyaml and PyYAML place that one differently)."""
    seen: set[int] = set()
    pending: list[tuple[yaml.Node, int]] = [(root, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > MAX_NESTING or id(node) in seen:
            return False
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            pending.extend((child, depth + 1) for pair in node.value for child in pair)
        elif isinstance(node, yaml.SequenceNode):
            pending.extend((child, depth + 1) for child in node.value)
        elif (isinstance(node, yaml.ScalarNode) and node.value == "" and not node.style
              and node.start_mark.line >= last_line):
            return False
    return True
