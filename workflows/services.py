"""Writes of workflows (rules W1, W7, W9–W12): create, change, publish versions, turn on/off,
delete, enroll, rotate the webhook secret.

- Steps (W9, W12) come as a graph (`steps` with ids and exits, `start`) or as the older
  `actions` list, read as a straight line of steps; each step's settings are cleaned by its
  type in the action registry, the graph by `workflows.graph`.
- Versions (W11): saving other steps while the current version has enrollments publishes a new
  version; enrollments finish on the version they started. Without enrollments the current
  version is changed in place.
- A workflow that does not validate now (a step's segment, user or property went away since
  it was saved) cannot be turned on: the refusal lists every problem.

- Workflows need the Professional or Enterprise tier (W1); below it every write is refused
  with that reason.
- Enrollment is recorded once per (workflow, contact, number): without re-enrollment a second
  enrollment is a no-op answered as skipped; a race between two enrollers leaves one row.
- A filter trigger enrolls contacts that *start* matching: `TriggerMatch` holds who matched at
  the last evaluation, so a contact is enrolled when it appears there and, with re-enrollment,
  again after it left and came back.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from crm.contact_filters import FilterContext
from crm.errors import Conflict, NameTaken, PermissionRefused, ValidationFailed
from crm.ids import is_id_text
from crm.models import Account, AuditKind, Contact, Tier, User
from crm.services.audit import audit_record
from segments.compiler import matching_contacts
from segments.services import clean_filters

from .actions import REGISTRY, ActionInvalid
from .graph import GraphInvalid, check_ids, clean_graph, settings_of, steps_from_actions
from .models import (
    Enrollment,
    EnrollmentSource,
    TriggerMatch,
    TriggerType,
    Workflow,
    WorkflowVersion,
)
from .runner import rescue

ALLOWED_TIERS = (Tier.PROFESSIONAL, Tier.ENTERPRISE)
MAX_ENROLL_IDS = 1000
# Why a contact was not enrolled: English in the API's payloads (rule L2), translated by the
# pages that show them (`gettext(reason)`).
SKIP_ALREADY_ENROLLED = gettext_noop("already enrolled (re-enrollment is off)")
SKIP_BEING_ENROLLED = gettext_noop("already being enrolled")


def workflows_allowed() -> bool:
    account = Account.objects.filter(pk=1).first()
    return account is not None and account.tier in ALLOWED_TIERS


def tier_refusal_message() -> str:
    account = Account.objects.filter(pk=1).first()
    tier = account.get_tier_display() if account else Tier.FREE.label
    return _(
        "Workflows need the Professional or Enterprise tier; this account is on %(tier)s. "
        "A super admin can change the tier in Settings > Account."
    ) % {"tier": tier}


def require_tier() -> None:
    """Rule W1."""
    if not workflows_allowed():
        raise PermissionRefused(tier_refusal_message())


def _fail(path: str, message: str):
    raise ValidationFailed(f"{path}: {message}" if path else message,
                           errors=[{"name": path, "path": path, "message": message}])  # fmt: skip


def clean_trigger(trigger) -> tuple[str, dict]:
    if not isinstance(trigger, dict) or trigger.get("type") not in TriggerType.values:
        _fail("trigger", _('must be {"type": "manual"} or {"type": "filters", "filters": …}'))
    if trigger["type"] == TriggerType.MANUAL:
        return TriggerType.MANUAL, {}
    try:
        filters = clean_filters(trigger.get("filters"))
    except ValidationFailed as exc:
        errors = [
            {**e, "name": f"trigger.filters.{e['path']}".rstrip("."),
             "path": f"trigger.filters.{e['path']}".rstrip(".")}
            for e in exc.errors
        ]  # fmt: skip
        raise ValidationFailed(f"trigger.filters: {exc.message}", errors=errors)
    if not filters["or"]:
        _fail("trigger.filters", _("a filter trigger needs at least one filter"))
    return TriggerType.FILTERS, filters


def clean_actions(actions) -> list[dict]:
    if not isinstance(actions, list):
        _fail("actions", _("must be a list of actions"))
    if len(actions) > 20:
        _fail("actions", _("at most %(max)s actions") % {"max": 20})
    cleaned = []
    for i, config in enumerate(actions):
        path = f"actions[{i}]"
        if not isinstance(config, dict):
            _fail(path, _("an action is an object with a type"))
        action_type = REGISTRY.get(config.get("type"))
        if action_type is None:
            if REGISTRY:
                message = _("Unknown action type %(type)s; use one of %(types)s")
            else:
                message = _("Unknown action type %(type)s; no action type is available")
            _fail(
                f"{path}.type",
                message % {"type": repr(config.get("type")), "types": ", ".join(sorted(REGISTRY))},
            )
        if action_type.outcomes != ("next",):
            _fail(f"{path}.type", _("a branch needs the steps form, with its yes and no exits"))
        try:
            cleaned.append({"type": action_type.type, **action_type.clean(config)})
        except ActionInvalid as exc:
            _fail(f"{path}.{exc.field}" if exc.field else path, exc.message)
    return cleaned


def _clean_step_settings(i: int, settings: dict) -> dict:
    path = f"steps[{i}]"
    action_type = REGISTRY.get(settings.get("type"))
    if action_type is None:
        _fail(
            f"{path}.type",
            _("Unknown step type %(type)s; use one of %(types)s")
            % {"type": repr(settings.get("type")), "types": ", ".join(sorted(REGISTRY))},
        )
    try:
        return {"type": action_type.type, **action_type.clean(settings)}
    except ActionInvalid as exc:
        _fail(f"{path}.{exc.field}" if exc.field else path, exc.message)


def clean_step_settings(step: dict) -> dict:
    """One step's settings cleaned on their own (`type` included), or `ValidationFailed`."""
    return _clean_step_settings(0, settings_of(step))


def _outcomes_of(type_name) -> tuple[str, ...] | None:
    action_type = REGISTRY.get(type_name) if isinstance(type_name, str) else None
    return action_type.outcomes if action_type else None


def clean_steps(steps, start) -> tuple[list[dict], str]:
    """A valid graph of steps, normalized (rules W9, W12), or `ValidationFailed` naming the
    bad part (`steps[2].next`, `steps[0].webinar_id`, `start`)."""
    try:
        return clean_graph(
            steps, start, outcomes_of=_outcomes_of, clean_settings=_clean_step_settings
        )
    except GraphInvalid as exc:
        _fail(exc.path, exc.message)


def clean_step_input(*, steps=None, start=None, actions=None) -> tuple[list[dict], str] | None:
    """`steps` (+ `start`), or the older `actions` read as a straight line (W12); None when
    the request gives neither."""
    if steps is not None and actions is not None:
        _fail("actions", _("Give either steps or actions, not both"))
    if actions is not None:
        return steps_from_actions(clean_actions(actions))
    if steps is not None:
        return clean_steps(steps, start)
    if start is not None:
        _fail("start", _("start goes with steps"))
    return None


def _problems_of(exc: ValidationFailed) -> list[dict]:
    return [
        {"path": e.get("path") or "", "message": e.get("message") or exc.message}
        for e in exc.errors or [{"path": "", "message": exc.message}]
    ]


def steps_problems(steps: list[dict], start) -> list[dict]:
    """Every problem of a graph of steps, as `[{"path", "message"}]` (empty: it validates):
    each step's settings, then the graph's own (exits, reachability, loops)."""
    if not steps:
        return [{"path": "steps", "message": str(_("Add at least one step"))}]
    problems: list[dict] = []
    for i, step in enumerate(steps):
        try:
            _clean_step_settings(i, settings_of(step))
        except ValidationFailed as exc:
            problems += _problems_of(exc)
    try:
        clean_steps(steps, start)
    except ValidationFailed as exc:
        seen = {p["path"] for p in problems}
        problems += [p for p in _problems_of(exc) if p["path"] not in seen]
    return problems


def workflow_problems(workflow: Workflow) -> list[dict]:
    """Why the workflow cannot be turned on, as `[{"path", "message"}]` (empty: it can)."""
    return steps_problems(workflow.steps, workflow.start)


def clean_draft_input(*, steps=None, start=None, actions=None):
    """A draft's steps (rule W11's drafts): kept as given whatever their settings, so long as
    they can be stored and drawn (a list of objects with unique ids, a start that is an id or
    empty). Returns (steps, start, problems); a graph without problems comes back cleaned.
    None when the request gives no steps."""
    if steps is None and actions is None:
        return clean_step_input(steps=steps, start=start, actions=actions)
    if actions is not None:
        if steps is not None:
            _fail("actions", _("Give either steps or actions, not both"))
        if not isinstance(actions, list):
            _fail("actions", _("must be a list of actions"))
        steps, start = steps_from_actions(a for a in actions if isinstance(a, dict))
    try:
        ids = check_ids(steps)
    except GraphInvalid as exc:
        _fail(exc.path, exc.message)
    if start in (None, ""):
        start = steps[0]["id"] if steps else ""
    elif not isinstance(start, str) or start not in ids:
        _fail("start", _("%(target)s is not the id of a step") % {"target": repr(start)})
    problems = steps_problems(steps, start)
    if not problems:
        return (*clean_steps(steps, start), [])
    return [dict(step) for step in steps], start, problems


def _publish(workflow: Workflow, steps: list[dict], start: str, actor: User | None) -> bool:
    """Rule W11: new steps become a new version when the current one has enrollments; else
    they replace the current one. Returns whether a version was published."""
    current = WorkflowVersion.objects.filter(workflow=workflow, number=workflow.version).first()
    workflow.steps, workflow.start = steps, start
    if current is not None and not current.enrollments.exists():
        current.steps, current.start = steps, start
        current.save(update_fields=["steps", "start"])
        return False
    workflow.version = (current.number + 1) if current else 1
    WorkflowVersion.objects.create(
        workflow=workflow, number=workflow.version, steps=steps, start=start, created_by=actor
    )
    if current is None:
        return False
    _workflow_audit(
        AuditKind.WORKFLOW_VERSION_PUBLISHED,
        workflow,
        before={"version": current.number},
        after={"version": workflow.version},
        actor=actor,
    )
    return True


def _needs_secret(steps: list[dict]) -> bool:
    return any(step.get("type") == "webhook" for step in steps)


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def workflow_webhook_secret_rotate(*, workflow: Workflow) -> str:
    """A new secret for the workflow's webhook steps; returns it in clear, the only time it is
    shown (it is stored encrypted)."""
    require_tier()
    secret = new_webhook_secret()
    workflow.webhook_secret = secret
    workflow.updated_at = timezone.now()
    workflow.save(update_fields=["webhook_secret", "updated_at"])
    return secret


def _clean_name(name, *, exclude_id=None) -> str:
    text = name.strip() if isinstance(name, str) else ""
    if not text:
        _fail("name", _("A workflow needs a name"))
    if len(text) > 200:
        _fail("name", _("A name has at most 200 characters"))
    if Workflow.objects.filter(name__iexact=text).exclude(pk=exclude_id).exists():
        message = _("A workflow named %(name)s already exists") % {"name": repr(text)}
        raise NameTaken(
            f"name: {message}", errors=[{"name": "name", "path": "name", "message": message}]
        )
    return text


def workflow_create(
    *,
    name: str,
    trigger,
    actions=None,
    steps=None,
    start=None,
    reenrollment: bool = False,
    enabled: bool = False,
    enroll_existing: bool = False,
    draft: bool = False,
    actor: User | None,
) -> Workflow:
    """A new workflow with its version 1. A workflow with webhook steps gets a secret, readable
    once as `workflow.new_webhook_secret`. With `draft`, incomplete steps are saved as they are
    (a draft: off, its problems listed; turning it on validates fully)."""
    require_tier()
    trigger_type, filters = clean_trigger(trigger)
    problems: list[dict] = []
    if draft:
        graph = clean_draft_input(steps=steps, start=start, actions=actions)
        graph, problems = (graph[:2], graph[2]) if graph else (None, [])
    else:
        graph = clean_step_input(steps=steps, start=start, actions=actions)
    graph = graph or ([], "")
    with transaction.atomic():
        workflow = Workflow.objects.create(
            name=_clean_name(name),
            trigger_type=trigger_type,
            filters=filters,
            reenrollment=bool(reenrollment),
            steps=graph[0],
            start=graph[1],
            draft=bool(problems),
            draft_problems=problems,
            created_by=actor,
        )
        WorkflowVersion.objects.create(
            workflow=workflow, number=1, steps=graph[0], start=graph[1], created_by=actor
        )
        workflow.new_webhook_secret = None
        if _needs_secret(workflow.steps):
            workflow.webhook_secret = workflow.new_webhook_secret = new_webhook_secret()
            workflow.save(update_fields=["webhook_secret"])
        if enabled:
            # Part of the creation: its one audit entry says it was created on.
            _set_enabled(workflow=workflow, enabled=True, enroll_existing=enroll_existing)
        _workflow_audit(
            AuditKind.WORKFLOW_CREATED, workflow, after=_workflow_fields(workflow), actor=actor
        )
    return workflow


def _workflow_fields(workflow: Workflow) -> dict:
    return {"name": workflow.name, "trigger": workflow.trigger_type, "enabled": workflow.enabled}


def _workflow_audit(kind: str, workflow: Workflow, *, before=None, after=None, actor=None):
    audit_record(
        kind=kind,
        target_type="workflow",
        target_id=workflow.pk,
        target_label=workflow.name,
        before=before,
        after=after,
        actor=actor,
    )


def workflow_update(
    *,
    workflow: Workflow,
    name=None,
    trigger=None,
    actions=None,
    steps=None,
    start=None,
    reenrollment=None,
    draft: bool = False,
    actor: User | None = None,
) -> Workflow:
    """Changes what is given. Other steps publish a new version when the current one has
    enrollments (rule W11); `workflow.published` says whether this call did. With `draft`,
    incomplete steps are saved as they are (the workflow must be off: one that is on keeps
    steps that validate)."""
    require_tier()
    problems: list[dict] = []
    if draft:
        graph = clean_draft_input(steps=steps, start=start, actions=actions)
        graph, problems = (graph[:2], graph[2]) if graph else (None, [])
        if problems and workflow.enabled:
            _fail("draft", _("Turn the workflow off before saving it as a draft"))
    else:
        graph = clean_step_input(steps=steps, start=start, actions=actions)
    workflow.published = False
    workflow.new_webhook_secret = None
    with transaction.atomic():
        if name is not None:
            workflow.name = _clean_name(name, exclude_id=workflow.pk)
        if trigger is not None:
            trigger_type, filters = clean_trigger(trigger)
            if (trigger_type, filters) != (workflow.trigger_type, workflow.filters):
                workflow.trigger_type, workflow.filters = trigger_type, filters
                # New filters: who "starts matching" is counted from now on.
                TriggerMatch.objects.filter(workflow=workflow).delete()
                if workflow.enabled and trigger_type == TriggerType.FILTERS:
                    _remember_matches(workflow)
        if graph is not None:
            workflow.draft, workflow.draft_problems = bool(problems), problems
        if graph is not None and graph != (workflow.steps, workflow.start):
            workflow.published = _publish(workflow, graph[0], graph[1], actor)
            if _needs_secret(workflow.steps) and not workflow.webhook_secret:
                workflow.webhook_secret = workflow.new_webhook_secret = new_webhook_secret()
        if reenrollment is not None:
            workflow.reenrollment = bool(reenrollment)
        workflow.updated_at = timezone.now()
        workflow.save()
    return workflow


def workflow_set_enabled(
    *,
    workflow: Workflow,
    enabled: bool,
    enroll_existing: bool = False,
    actor: User | None = None,
) -> Workflow:
    """Turns a workflow on or off. Turning a filter workflow on enrolls the contacts that
    already match only with `enroll_existing`; otherwise they count as matching already and
    only contacts that start matching later are enrolled. Turning it to the state it is in
    records nothing in the audit trail."""
    require_tier()
    with transaction.atomic():
        was = workflow.enabled
        _set_enabled(workflow=workflow, enabled=enabled, enroll_existing=enroll_existing)
        _workflow_audit(
            AuditKind.WORKFLOW_TURNED_ON if enabled else AuditKind.WORKFLOW_TURNED_OFF,
            workflow,
            before={"enabled": was},
            after={"enabled": workflow.enabled},
            actor=actor,
        )
    return workflow


def _set_enabled(*, workflow: Workflow, enabled: bool, enroll_existing: bool) -> None:
    if enabled and not workflow.enabled:
        problems = workflow_problems(workflow)
        if problems:
            message = _("The workflow cannot be turned on: %(problems)s") % {
                "problems": "; ".join(
                    f"{p['path']}: {p['message']}" if p["path"] else p["message"] for p in problems
                )
            }
            raise ValidationFailed(
                message,
                errors=[{"name": p["path"], "path": p["path"], "message": p["message"]}
                        for p in problems],
            )  # fmt: skip
    with transaction.atomic():
        if enabled and workflow.draft:
            # A draft that validates now: its steps as the engine reads them, in its version.
            workflow.steps, workflow.start = clean_steps(workflow.steps, workflow.start)
            workflow.draft, workflow.draft_problems = False, []
            WorkflowVersion.objects.filter(workflow=workflow, number=workflow.version).update(
                steps=workflow.steps, start=workflow.start
            )
        was = workflow.enabled
        workflow.enabled = enabled
        workflow.updated_at = timezone.now()
        if enabled and not was:
            workflow.enabled_at = workflow.updated_at
        workflow.save()
        if enabled and not was and workflow.trigger_type == TriggerType.FILTERS:
            TriggerMatch.objects.filter(workflow=workflow).delete()
            if enroll_existing:
                transaction.on_commit(lambda: _queue_sweep(workflow.pk))
            else:
                _remember_matches(workflow)


def _queue_sweep(workflow_id: int) -> None:
    from .tasks import sweep_workflow

    sweep_workflow.delay(workflow_id)


def _remember_matches(workflow: Workflow) -> int:
    ctx = FilterContext.build(check_references=False)
    ids = matching_contacts(workflow.filters, ctx).values_list("pk", flat=True)
    now = timezone.now()
    rows = [TriggerMatch(workflow=workflow, contact_id=pk, matched_at=now) for pk in ids.iterator()]
    TriggerMatch.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    return len(rows)


def workflow_delete(*, workflow: Workflow, actor: User | None = None) -> None:
    require_tier()
    with transaction.atomic():
        before, workflow_id = _workflow_fields(workflow), workflow.pk
        workflow.delete()
        workflow.pk = workflow_id  # the entry names the workflow that was
        _workflow_audit(AuditKind.WORKFLOW_DELETED, workflow, before=before, actor=actor)


@dataclass
class EnrollOutcome:
    enrolled: list[Enrollment] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)


def _contact_ids(contact_ids) -> list[int]:
    ids = list(contact_ids or [])
    if not ids:
        _fail("contact_ids", _("must be a non-empty list of contact ids"))
    if len(ids) > MAX_ENROLL_IDS:
        _fail("contact_ids", _("at most %(max)s contacts at a time") % {"max": MAX_ENROLL_IDS})
    bad = [i for i in ids if isinstance(i, bool) or not is_id_text(str(i).strip())]
    if bad:
        _fail("contact_ids", _("%(value)s is not a contact id") % {"value": repr(bad[0])})
    ids = list(dict.fromkeys(int(str(i).strip()) for i in ids))
    found = set(
        Contact.objects.filter(pk__in=ids, archived_at__isnull=True).values_list("pk", flat=True)
    )
    missing = [i for i in ids if i not in found]
    if missing:
        _fail(
            "contact_ids",
            _("No live contact with id %(ids)s") % {"ids": ", ".join(map(str, missing[:10]))},
        )
    return ids


def workflow_enroll(
    *, workflow: Workflow, contact_ids: Iterable, actor: User | None
) -> EnrollOutcome:
    """Manual enrollment (needs the workflow on: 409 otherwise)."""
    require_tier()
    if workflow.draft:
        raise Conflict(_("The workflow is a draft: complete it and turn it on to enroll contacts"))
    if not workflow.enabled:
        raise Conflict(_("The workflow is off: turn it on to enroll contacts"))
    return enroll_contacts(
        workflow=workflow,
        contact_ids=_contact_ids(contact_ids),
        source=EnrollmentSource.MANUAL,
        actor=actor,
    )


def enroll_contacts(
    *, workflow: Workflow, contact_ids: Sequence[int], source: str, actor: User | None = None
) -> EnrollOutcome:
    """Enrolls each contact once (or again, with re-enrollment) and queues the runs."""
    outcome = EnrollOutcome()
    last = dict(
        Enrollment.objects.filter(workflow=workflow, contact_id__in=contact_ids)
        .values_list("contact_id")
        .annotate(n=Max("number"))
    )
    now = timezone.now()
    version = WorkflowVersion.objects.get(workflow=workflow, number=workflow.version)
    wanted: dict[int, int] = {}  # contact -> the enrollment number to create
    for contact_id in contact_ids:
        previous = last.get(contact_id)
        if previous and not workflow.reenrollment:
            outcome.skipped.append({"contact": contact_id, "reason": SKIP_ALREADY_ENROLLED})
            continue
        wanted[contact_id] = (previous or 0) + 1
    if wanted:
        # One statement; a row a concurrent enroller wrote first is left alone (the unique
        # (workflow, contact, number) decides) and reported as skipped.
        Enrollment.objects.bulk_create(
            [
                Enrollment(workflow=workflow, version=version, contact_id=cid, number=number,
                           source=source, enrolled_by=actor, created_at=now,
                           current_step=version.start, due_at=now + rescue())
                for cid, number in wanted.items()
            ],
            batch_size=1000,
            ignore_conflicts=True,
        )  # fmt: skip
        mine = {
            e.contact_id: e
            for e in Enrollment.objects.filter(
                workflow=workflow, contact_id__in=list(wanted), created_at=now, source=source
            )
            if wanted.get(e.contact_id) == e.number
        }
        for contact_id in wanted:
            if contact_id in mine:
                outcome.enrolled.append(mine[contact_id])
            else:
                outcome.skipped.append({"contact": contact_id, "reason": SKIP_BEING_ENROLLED})
    if outcome.enrolled:
        ids = [e.pk for e in outcome.enrolled]
        Workflow.objects.filter(pk=workflow.pk).update(last_run_at=now)
        transaction.on_commit(lambda: _queue_runs(ids))
    return outcome


def _queue_runs(enrollment_ids: list[int]) -> None:
    from .tasks import run_enrollment

    for enrollment_id in enrollment_ids:
        run_enrollment.delay(enrollment_id)


def workflow_sweep(*, workflow: Workflow, contact_ids: Sequence[int] | None = None) -> int:
    """Enrolls the contacts that started matching a filter trigger since the last evaluation
    (restricted to `contact_ids` when given); forgets those that stopped matching. Returns
    how many were enrolled."""
    if not (workflow.enabled and workflow.trigger_type == TriggerType.FILTERS):
        return 0
    if not workflows_allowed():
        return 0
    ctx = FilterContext.build(check_references=False)
    matching = matching_contacts(workflow.filters, ctx)
    known = TriggerMatch.objects.filter(workflow=workflow)
    if contact_ids is not None:
        matching = matching.filter(pk__in=list(contact_ids))
        known = known.filter(contact_id__in=list(contact_ids))
    with transaction.atomic():
        new_ids = list(
            matching.exclude(pk__in=known.values("contact_id")).values_list("pk", flat=True)
        )
        known.exclude(contact_id__in=matching.values("pk")).delete()
        now = timezone.now()
        TriggerMatch.objects.bulk_create(
            [TriggerMatch(workflow=workflow, contact_id=pk, matched_at=now) for pk in new_ids],
            batch_size=2000,
            ignore_conflicts=True,
        )
        outcome = enroll_contacts(
            workflow=workflow, contact_ids=new_ids, source=EnrollmentSource.TRIGGER
        )
    return len(outcome.enrolled)
