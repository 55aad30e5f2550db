"""A readable comparison of two scripts: questions, options, synonyms, points, thresholds, routing.

Pure. Besides the changes, it warns when the new script drops a pinned id (the ids
reports and integrations rely on) or an option id that stored answers use.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Collection, Iterator
from typing import Any

from bot.lifecycle.models import Change, ScriptDiff
from conversations.dsl import Script, options_of

# The default script's ids that reports, exports and integrations rely on.
PINNED: dict[str, tuple[str, ...]] = {
    "sector": ("software", "finance", "healthcare", "retail", "manufacturing", "education",
               "public", "other"),
    "company_size": ("micro", "small", "medium", "large", "enterprise"),
    "budget": ("lt_5k", "5k_20k", "20k_100k", "gt_100k", "unknown"),
    "urgency": ("now", "quarter", "year", "exploring"),
}


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _compare(area: Any, path: str, before: Any, after: Any) -> Iterator[Change]:
    if before == after:
        return
    if before is None:
        yield Change(area=area, path=path, change="added", before=None, after=_show(after))
    elif after is None:
        yield Change(area=area, path=path, change="removed", before=_show(before), after=None)
    else:
        yield Change(area=area, path=path, change="changed", before=_show(before),
                     after=_show(after))


def _synonym_changes(path: str, before: dict[str, Any], after: dict[str, Any]) -> Iterator[Change]:
    for lang in sorted(set(before) | set(after)):
        old, new = list(before.get(lang) or []), list(after.get(lang) or [])
        added = [s for s in new if s not in old]
        removed = [s for s in old if s not in new]
        if added:
            yield Change(area="synonyms", path=f"{path}.synonyms.{lang}", change="added",
                         before=None, after=", ".join(added))
        if removed:
            yield Change(area="synonyms", path=f"{path}.synonyms.{lang}", change="removed",
                         before=", ".join(removed), after=None)


def _question_changes(old: Script, new: Script) -> Iterator[Change]:
    old_questions = {q.id: q for q in old.questions}
    new_questions = {q.id: q for q in new.questions}
    for qid in [*old_questions, *(q for q in new_questions if q not in old_questions)]:
        path = f"questions.{qid}"
        before, after = old_questions.get(qid), new_questions.get(qid)
        if before is None or after is None:
            yield from _compare("question", path, before and before.type, after and after.type)
            continue
        b, a = before.model_dump(mode="json"), after.model_dump(mode="json")
        for key in sorted((set(b) | set(a)) - {"options", "bands", "id"}):
            yield from _compare("question", f"{path}.{key}", b.get(key), a.get(key))
        old_options = {o.id: o for o in options_of(before)}
        new_options = {o.id: o for o in options_of(after)}
        for oid in [*old_options, *(o for o in new_options if o not in old_options)]:
            opath = f"{path}.options.{oid}"
            ob, oa = old_options.get(oid), new_options.get(oid)
            if ob is None or oa is None:
                label = (ob or oa).label  # type: ignore[union-attr]  # one of them is set
                yield from _compare("option", opath, ob and _show(label), oa and _show(label))
                continue
            db, da = ob.model_dump(mode="json"), oa.model_dump(mode="json")
            yield from _synonym_changes(opath, db.get("synonyms") or {}, da.get("synonyms") or {})
            yield from _compare("points", f"{opath}.points", db.get("points"), da.get("points"))
            for key in sorted((set(db) | set(da)) - {"id", "synonyms", "points"}):
                yield from _compare("option", f"{opath}.{key}", db.get(key), da.get(key))
    if [q for q in old_questions if q in new_questions] != [
            q for q in new_questions if q in old_questions]:
        yield Change(area="question", path="questions (order)", change="changed",
                     before=", ".join(old_questions), after=", ".join(new_questions))


def structured_changes(old: Script, new: Script) -> list[Change]:
    changes = list(_compare("script", "id", old.id, new.id))
    changes += _question_changes(old, new)
    b, a = old.model_dump(mode="json"), new.model_dump(mode="json")
    bs, as_ = b.get("scoring") or {}, a.get("scoring") or {}
    for key in ("mql", "sql"):
        changes += _compare("thresholds", f"scoring.thresholds.{key}",
                            bs.get("thresholds", {}).get(key), as_.get("thresholds", {}).get(key))
    for key in ("warm", "hot"):
        changes += _compare("temperature", f"scoring.temperature.{key}",
                            bs.get("temperature", {}).get(key), as_.get("temperature", {}).get(key))
    for key in sorted((set(bs) | set(as_)) - {"thresholds", "temperature"}):
        changes += _compare("points", f"scoring.{key}", bs.get(key), as_.get(key))
    old_routes, new_routes = b.get("routing") or [], a.get("routing") or []
    for index in range(max(len(old_routes), len(new_routes))):
        changes += _compare("routing", f"routing[{index}]",
                            old_routes[index] if index < len(old_routes) else None,
                            new_routes[index] if index < len(new_routes) else None)
    done = {"id", "questions", "scoring", "routing", "version"}
    for key in sorted((set(b) | set(a)) - done):
        changes += _compare("other", key, b.get(key), a.get(key))
    return changes


def removed_id_warnings(old: Script, new: Script,
                        used: Collection[tuple[str, str | None]]) -> list[str]:
    """Pinned ids, and option ids that stored answers use, that the new script drops."""
    warnings = []
    new_questions = {q.id: {o.id for o in options_of(q)} for q in new.questions}
    used_questions = {qid for qid, _ in used}
    for question in old.questions:
        pinned = question.id in PINNED
        if question.id not in new_questions:
            if pinned or question.id in used_questions:
                why = "a pinned id" if pinned else "stored answers use it"
                warnings.append(f"question {question.id!r} is removed or renamed ({why})")
            continue
        for option in options_of(question):
            if option.id in new_questions[question.id]:
                continue
            if option.id in PINNED.get(question.id, ()):
                warnings.append(f"option {question.id}.{option.id} is removed or renamed "
                                "(a pinned id)")
            elif (question.id, option.id) in used:
                warnings.append(f"option {question.id}.{option.id} is removed or renamed "
                                "(stored answers use it)")
    return warnings


def compare(old: Script, old_text: str, new: Script, new_text: str, *, before: str, after: str,
            used: Collection[tuple[str, str | None]] = ()) -> ScriptDiff:
    text = "".join(difflib.unified_diff(
        old_text.splitlines(keepends=True), new_text.splitlines(keepends=True),
        fromfile=before, tofile=after))
    return ScriptDiff(before=before, after=after, changes=tuple(structured_changes(old, new)),
                      warnings=tuple(removed_id_warnings(old, new, used)), text_diff=text)
