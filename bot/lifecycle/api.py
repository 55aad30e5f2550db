"""The script lifecycle service: the one API the CLI and the web workspace call.

Versions of the script live in the database (`script_versions`); what is served is
the latest row of `script_deployments` (one version, or an experiment's variants).
Every change that reaches prospects — publish, rollback, experiment start and stop —
takes an `author` and a `note` and is recorded as a deployment, so it can be audited.
Drafts are not kept here: a draft is YAML text the caller holds until it publishes.

Every operation either does all it says or, for an expected mistake, raises a
`LifecycleError` whose message is one line saying what to do, and changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from bot.lifecycle import records
from bot.lifecycle.checking import content_hash, example_problems, parse_or_problems
from bot.lifecycle.diffing import compare
from bot.lifecycle.errors import BadExperiment, InvalidScript, LifecycleError, UnknownVersion
from bot.lifecycle.experiments import check_variants
from bot.lifecycle.models import (
    Deployment,
    ExperimentStatus,
    Problem,
    PublishResult,
    ReplayReport,
    ScriptDiff,
    SynonymAdded,
    UnmatchedSuggestion,
    VariantSpec,
    Version,
    VersionSummary,
)
from bot.lifecycle.publishing import previous_version, store_and_deploy, used_options, who
from bot.lifecycle.replay import Replayer, collector_paused, replay_all
from bot.lifecycle.replay_inputs import load_conversations
from bot.lifecycle.suggestions import served_script, suggestion
from bot.lifecycle.synonyms import with_synonym
from bot.lifecycle.variant_stats import variant_counts
from bot.reports.unmatched import count_unmatched, load_unmatched_texts
from conversations.dsl import Script
from conversations.loader import MAX_SCRIPT_BYTES, ScriptError, UnreadableFile, read_utf8
from conversations.loader import Problem as LoaderProblem
from conversations.matching import ACCEPT_CONFIDENCE, match_answer
from storage.unit_of_work import UnitOfWork

PARSED_KEPT = 16


def utc_now() -> datetime:
    return datetime.now(UTC)


class ScriptLifecycle:
    """Versions, deployments, replay, experiments and synonyms of the question script."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._sessions = session_factory
        self._clock = clock
        # Parsing the bundled script takes about half a second: a version is parsed once
        # per process (start-up import, serving, replays and diffs share it).
        self._parsed: dict[str, Script] = {}

    # --- versions -------------------------------------------------------------------

    def list_versions(self) -> list[VersionSummary]:
        """Every stored version, newest first."""
        with self._uow() as uow:
            active = records.served_numbers(uow.scripts.active())
            return [records.summary_of(row, active=active) for row in uow.scripts.versions()]

    def get_version(self, number: int) -> Version:
        """One version with its YAML text; raises UnknownVersion."""
        with self._uow() as uow:
            row = uow.scripts.get(number)
            if row is None:
                raise UnknownVersion(number)
            return records.version_of(row, active=records.served_numbers(uow.scripts.active()))

    def active_deployment(self) -> Deployment | None:
        """What is served now; None only before the first version is published."""
        with self._uow() as uow:
            row = uow.scripts.active()
            return records.deployment_of(row) if row is not None else None

    def deployments(self, *, limit: int = 50) -> list[Deployment]:
        """The history of what was served, newest first (publishes, rollbacks, experiments)."""
        with self._uow() as uow:
            return [records.deployment_of(row) for row in uow.scripts.deployments(limit=limit)]

    # --- checking and comparing -----------------------------------------------------

    def validate(self, yaml_text: str, *, filename: str = "script.yaml") -> list[Problem]:
        """The problems of a draft, by line: YAML and schema errors, then failing examples.

        Empty when the script could be published. The lines and messages are those of
        `leadbot script check`.
        """
        parsed = self.parsed(yaml_text, filename=filename)
        return parsed if isinstance(parsed, list) else example_problems(parsed, yaml_text)

    def diff(self, v1: int, v2: int) -> ScriptDiff:
        """What changed from version v1 to v2: questions, options, synonyms, points,
        thresholds and routing, with warnings about removed ids that stored answers use."""
        first, second = self.get_version(v1), self.get_version(v2)
        return self.diff_text(first.yaml_text, second.yaml_text, before=f"v{v1}", after=f"v{v2}")

    def diff_text(self, before_yaml: str, after_yaml: str, *, before: str = "active",
                  after: str = "draft") -> ScriptDiff:
        """The same comparison for two texts (e.g. the active version and a draft);
        raises InvalidScript when either does not parse."""
        old, new = self._parse(before_yaml), self._parse(after_yaml)
        return compare(old, before_yaml, new, after_yaml, before=before, after=after,
                       used=self._used_options())

    # --- publishing -----------------------------------------------------------------

    def publish(self, yaml_text: str, *, author: str, note: str = "") -> PublishResult:
        """Store the text as a new version (or reuse an identical one) and serve it.

        Raises InvalidScript (nothing stored) when it has errors or failing examples.
        Ends a running experiment: everyone gets the published version.
        """
        script = self._checked(yaml_text)
        result = self._store_and_deploy(script, yaml_text, author=who(author), note=note,
                                        kind="publish")
        assert result is not None  # only imports are conditional
        return result

    def save_version(self, yaml_text: str, *, author: str, note: str = "") -> VersionSummary:
        """Store the text as a version without serving it (or return the identical one).

        Raises InvalidScript like `publish`; serve it later with `rollback(number)`.
        """
        script = self._checked(yaml_text)
        digest = content_hash(yaml_text)
        with self._uow() as uow:
            uow.scripts.lock_for_change()
            row = uow.scripts.with_hash(digest) or uow.scripts.add(
                script_id=script.id, yaml_text=yaml_text, content_hash=digest,
                author=who(author), note=note, now=self._clock())
            summary = records.summary_of(row, active=records.served_numbers(uow.scripts.active()))
            uow.commit()
        return summary

    def rollback(self, version: int | None = None, *, author: str, note: str = "") -> Deployment:
        """Serve an older version again (default: the one served before the active one).

        Recorded as a new deployment, like a publish; raises UnknownVersion, or
        LifecycleError when there is nothing to roll back to.
        """
        with self._uow() as uow:
            uow.scripts.lock_for_change()
            if version is None:
                version = previous_version(uow)
            elif uow.scripts.get(version) is None:
                raise UnknownVersion(version)
            row = uow.scripts.deploy(kind="rollback", variants=records.single(version),
                                     author=who(author), note=note, now=self._clock())
            deployment = records.deployment_of(row)
            uow.commit()
        return deployment

    def import_file(self, path: Path, *, bundled: bool = False) -> PublishResult | None:
        """Publish the file as a version authored `file:<path>` when its text differs from
        what was last imported from that path; None when it does not.

        `bundled` (the script shipped with leadbot) is imported only into a database that
        has no version yet. Raises ScriptError when the file cannot be used.
        """
        path = Path(path).resolve()
        try:
            _, yaml_text = read_utf8(path, max_bytes=MAX_SCRIPT_BYTES,
                                     too_big="the file is over 1 MB; is it a script?")
        except UnreadableFile as exc:
            raise ScriptError([exc.problem]) from None
        author = "bundled" if bundled else f"file:{path}"
        with self._uow() as uow:
            if bundled and uow.scripts.marker():
                return None
            last = uow.scripts.last_by(author)
            if last is not None and last.content_hash == content_hash(yaml_text):
                return None
        parsed = self.parsed(yaml_text, filename=str(path))
        if isinstance(parsed, list):
            raise ScriptError(LoaderProblem(str(path), p.line, p.column, p.path, p.message)
                              for p in parsed)
        return self._store_and_deploy(parsed, yaml_text, author=author, note=f"imported {path}",
                                      kind="import", only_if_changed_from=author,
                                      only_if_empty=bundled)

    def _store_and_deploy(
        self, script: Script, yaml_text: str, *, author: str, note: str, kind: str,
        only_if_changed_from: str | None = None, only_if_empty: bool = False,
    ) -> PublishResult | None:
        with self._uow() as uow:
            result = store_and_deploy(
                uow, script, yaml_text, parsed=self.parsed, author=author, note=note, kind=kind,
                now=self._clock(), only_if_changed_from=only_if_changed_from,
                only_if_empty=only_if_empty)
            if result is not None:
                uow.commit()
        return result

    def _uow(self) -> UnitOfWork:
        return UnitOfWork(self._sessions)

    def _used_options(self) -> set[tuple[str, str | None]]:
        with self._uow() as uow:
            return used_options(uow.session)

    def parsed(self, yaml_text: str, *, filename: str = "script.yaml") -> Script | list[Problem]:
        """The script (parsed once per process for each text), or its problems by line."""
        key = content_hash(yaml_text)
        known = self._parsed.get(key)
        if known is not None:
            return known
        parsed = parse_or_problems(yaml_text, filename=filename)
        if isinstance(parsed, Script):
            if len(self._parsed) >= PARSED_KEPT:
                del self._parsed[next(iter(self._parsed))]
            self._parsed[key] = parsed
        return parsed

    def _checked(self, yaml_text: str) -> Script:
        """The script when it could be published; InvalidScript (errors, failing examples)."""
        parsed = self.parsed(yaml_text)
        if isinstance(parsed, list):
            raise InvalidScript(parsed)
        problems = example_problems(parsed, yaml_text)
        if problems:
            raise InvalidScript(problems)
        return parsed

    def _parse(self, yaml_text: str) -> Script:
        parsed = self.parsed(yaml_text)
        if isinstance(parsed, list):
            raise InvalidScript(parsed)
        return parsed

    # --- replay ---------------------------------------------------------------------

    def replay(
        self, yaml_text: str, *, since: datetime | None = None, limit: int | None = None
    ) -> ReplayReport:
        """Run stored conversations through the candidate and through the active version.

        In memory with the pure engine: writes nothing and sends nothing. `since` keeps
        conversations started at or after it; `limit` the most recent N. Raises
        InvalidScript when the candidate does not parse.
        """
        if limit is not None and limit < 1:
            raise LifecycleError(f"--limit {limit} must be at least 1")
        began = time.perf_counter()
        candidate = self._parse(yaml_text)
        with collector_paused():
            with self._uow() as uow:
                active = uow.scripts.active()
                active_number = records.variants_of(active)[0].version if active else None
                active_text = uow.scripts.texts([active_number]) if active_number else {}
                stored = load_conversations(uow.session, since=since, limit=limit)
            baseline = self._parse(active_text[active_number]) if active_number else candidate
            results, totals = replay_all(stored, Replayer(baseline), Replayer(candidate),
                                         old_version=active_number)
        return ReplayReport(active_version=active_number, totals=totals,
                            conversations=tuple(results),
                            seconds=time.perf_counter() - began)

    # --- experiments ----------------------------------------------------------------

    def start_experiment(
        self, name: str, variants: Sequence[VariantSpec], *, author: str, note: str = ""
    ) -> Deployment:
        """Split new conversations between versions; weights are percentages summing to 100.

        A chat's variant is a hash of its channel, chat id and the experiment name, so
        every process agrees; conversations already running keep their version.
        Raises BadExperiment or UnknownVersion, changing nothing.
        """
        check_variants(name, variants)
        by = who(author)
        with self._uow() as uow:
            uow.scripts.lock_for_change()
            for variant in variants:
                if uow.scripts.get(variant.version) is None:
                    raise UnknownVersion(variant.version)
            active = uow.scripts.active()
            if active is not None and active.experiment is not None:
                raise BadExperiment(f"experiment {active.experiment!r} is running; stop it "
                                    "first (`leadbot experiment stop`)")
            if uow.scripts.deployments(limit=1, experiment=name):
                raise BadExperiment(f"an experiment named {name!r} already ran; pick a new name")
            row = uow.scripts.deploy(
                kind="experiment_start", experiment=name,
                variants=[v.model_dump() for v in variants], author=by, note=note,
                now=self._clock(),
                baseline_version=records.variants_of(active)[0].version if active else None,
            )
            deployment = records.deployment_of(row)
            uow.commit()
        return deployment

    def experiment_status(self, name: str | None = None) -> ExperimentStatus | None:
        """The running experiment (or the named one, or the latest): per variant, started,
        completed, MQL, SQL, conversion with its 95 % interval, significance and median
        time to SQL. None when there has never been one; BadExperiment for an unknown name."""
        with self._uow() as uow:
            if name is None:
                started = next((d for d in uow.scripts.deployments()
                                if d.kind == "experiment_start"), None)
                if started is None:
                    return None
                name = started.experiment
            assert name is not None
            rows = uow.scripts.deployments(experiment=name)
            start = next((d for d in rows if d.kind == "experiment_start"), None)
            if start is None:
                raise BadExperiment(f"no experiment named {name!r}; "
                                    "`leadbot experiment status` shows the latest")
            stop = next((d for d in rows if d.kind == "experiment_stop"), None)
            active = uow.scripts.active()
            variants = records.variants_of(start)
            counts = variant_counts(uow.session, name, variants)
            return ExperimentStatus(
                name=name, running=active is not None and active.id == start.id,
                started_at=start.created_at, started_by=start.author,
                stopped_at=stop.created_at if stop else None,
                kept=stop.note.removeprefix("kept ").split(":")[0] if stop else None,
                variants=counts,
            )

    def stop_experiment(self, name: str, keep: str, *, author: str, note: str = "") -> Deployment:
        """Serve the kept variant's version to everyone from now on."""
        by = who(author)
        with self._uow() as uow:
            uow.scripts.lock_for_change()
            active = uow.scripts.active()
            if active is None or active.experiment != name or active.kind != "experiment_start":
                running = active.experiment if active is not None else None
                raise BadExperiment(f"experiment {name!r} is not running" + (
                    f" ({running!r} is)" if running else " (none is)"))
            variants = records.variants_of(active)
            kept = next((v for v in variants if v.name == keep), None)
            if kept is None:
                raise BadExperiment(f"experiment {name!r} has no variant {keep!r}; its variants "
                                    f"are {', '.join(v.name for v in variants)}")
            row = uow.scripts.deploy(
                kind="experiment_stop", experiment=name, variants=records.single(kept.version),
                author=by, note=f"kept {keep}" + (f": {note}" if note else ""),
                now=self._clock())
            deployment = records.deployment_of(row)
            uow.commit()
        return deployment

    # --- synonyms -------------------------------------------------------------------

    def add_synonym(
        self, yaml_text: str, question: str, option: str, text: str, lang: str | None = None
    ) -> SynonymAdded:
        """The script with `text` added to the option's synonyms (comments and layout kept)
        and how many stored unmatched answers to the question it now understands.

        Raises LifecycleError for an unknown question or option, InvalidScript when the
        result does not parse. Stores nothing: publish the text to serve it."""
        script = self._parse(yaml_text)
        language = lang or script.lang
        if language not in script.languages:
            raise LifecycleError(f"the script has no language {language!r}; it has "
                                 f"{', '.join(script.languages)}")
        new_text = with_synonym(yaml_text, question, option, text, language)
        new_script = self._parse(new_text)
        with self._uow() as uow:
            texts = load_unmatched_texts(uow.session, since=None, until=None)
        target = new_script.question(question)
        covered = 0
        for qid, raw, _ in texts:
            if qid == question:
                match = match_answer(target, raw, lang=language)
                covered += match.option_id == option and match.confidence >= ACCEPT_CONFIDENCE
        return SynonymAdded(new_text, covered)

    def suggest_for_unmatched(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        question: str | None = None,
        limit: int = 20,
    ) -> list[UnmatchedSuggestion]:
        """Frequent unmatched answers, each with the closest option of the active script."""
        with self._uow() as uow:
            texts = load_unmatched_texts(uow.session, since=since, until=until)
            script = served_script(uow.session, self.parsed)
        order = script.question_ids() if script else ()
        items = count_unmatched(texts, question_order=order, only_question=question, limit=limit)
        return [suggestion(script, item) for item in items]
