"""A/B experiments on the script: start one from two versions, watch each variant, stop it keeping one.

The split, the per-variant funnel and the confidence intervals are the lifecycle
service's; this page renders them and records each start and stop in the audit log.
"""

from __future__ import annotations

from starlette.responses import Response

from bot.lifecycle.errors import LifecycleError
from bot.lifecycle.models import ExperimentStatus, VariantSpec
from bot.studio.drafts import lifecycle_of
from bot.studio.web import Page, get, post
from storage.audit import record_audit

MAX_NOTE = 500
PAST_SHOWN = 5


def experiments_page(page: Page, *, message: str = "", error: str = "",
                     status_code: int = 200) -> Response:
    lifecycle = lifecycle_of(page.studio.container)
    running = lifecycle.experiment_status()
    names: list[str] = []
    for deployment in lifecycle.deployments(limit=100):
        name = deployment.experiment
        if name and name not in names and (running is None or name != running.name):
            names.append(name)
    past: list[ExperimentStatus] = [
        status for name in names[:PAST_SHOWN]
        if (status := lifecycle.experiment_status(name)) is not None]
    return page.render("experiments.html", status_code=status_code, running=running, past=past,
                       versions=lifecycle.list_versions(), message=message, error=error,
                       can_edit=page.allowed("marketer"), form=page.form or {})


def experiments(page: Page) -> Response:
    return experiments_page(page)


def _int(page: Page, name: str, what: str) -> int:
    try:
        return int(page.field(name))
    except ValueError:
        raise LifecycleError(f"{what} must be a whole number") from None


def start(page: Page) -> Response:
    name = page.field("name").strip()
    note = page.field("note").strip()[:MAX_NOTE]
    try:
        variants = [
            VariantSpec(name="a", version=_int(page, "version_a", "version A"),
                        weight=_int(page, "weight_a", "the weight of A")),
            VariantSpec(name="b", version=_int(page, "version_b", "version B"),
                        weight=_int(page, "weight_b", "the weight of B")),
        ]
        deployment = lifecycle_of(page.studio.container).start_experiment(
            name, variants, author=page.user.email, note=note)
    except LifecycleError as exc:
        return experiments_page(page, error=str(exc), status_code=422)
    split = ", ".join(f"{v.name}: version {v.version} {v.weight} %" for v in deployment.variants)
    with page.studio.uow() as uow:
        record_audit(uow, actor=page.user.email, action="experiment.start", subject=name,
                     at=page.studio.now(), detail=f"{split}. {note}".strip())
        uow.commit()
    return experiments_page(page, message=f"Experiment {name} started ({split}).")


def stop(page: Page) -> Response:
    name = page.field("name")
    keep = page.field("keep")
    note = page.field("note").strip()[:MAX_NOTE]
    try:
        deployment = lifecycle_of(page.studio.container).stop_experiment(
            name, keep, author=page.user.email, note=note)
    except LifecycleError as exc:
        return experiments_page(page, error=str(exc), status_code=422)
    with page.studio.uow() as uow:
        record_audit(uow, actor=page.user.email, action="experiment.stop", subject=name,
                     at=page.studio.now(),
                     detail=f"kept {keep} (version {deployment.version}). {note}".strip())
        uow.commit()
    return experiments_page(
        page, message=f"Experiment {name} stopped: everyone gets version {deployment.version}.")


ROUTES = [
    get("/experiments", experiments),
    post("/experiments/start", start, role="marketer"),
    post("/experiments/stop", stop, role="marketer"),
]
