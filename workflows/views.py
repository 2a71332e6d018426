"""Workflows in the browser (rule W1 UI): list, editor (new/edit, the trigger built with the
segment builder), workflow page (summary, on/off, manual enrollment, execution log), and the
enrollment forms that the contact and segment pages show through `workflows_tags`.

Below the Professional tier every page explains why instead of its content, and every POST is
refused (rule W1). The views only read the posted fields and call services and selectors."""

from __future__ import annotations

import datetime as dt
import re
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from crm.contact_filters import FilterContext
from crm.errors import ApplicationError, NotFound, ValidationFailed
from crm.ids import is_id_text
from crm.models import Brand, Contact, User, normalize_email
from crm.paging import numbered_pager
from crm.properties import all_property_specs, spec_label
from crm.views.access import write_required
from segments import builder as segment_builder
from segments import selectors as segment_selectors
from segments.models import Segment, SegmentKind
from segments.tree import describe_tree

from . import selectors, services
from .actions import REGISTRY, editor_action
from .forms import EditorState, editor_from_post, editor_from_workflow
from .models import ActionExecution, ExecutionStatus, TriggerType, Workflow

PAGE_SIZE = 25
LOG_PAGE_SIZE = 50
PENDING = (ExecutionStatus.QUEUED, ExecutionStatus.RETRYING)
_SEPARATORS = re.compile(r"[\s,;]+")


# ---- access -------------------------------------------------------------------------------


def tier_required(view):
    """Rule W1: below Professional a page explains why (GET) and nothing can be changed
    (POST answers 403 with the same explanation)."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not services.workflows_allowed():
            context = {"active_nav": "workflows", "reason": services.tier_refusal_message()}
            status = 200 if request.method in ("GET", "HEAD") else 403
            return render(request, "workflows/tier.html", context, status=status)
        return view(request, *args, **kwargs)

    return wrapper


def _workflow_or_404(workflow_id: int) -> Workflow:
    try:
        return selectors.workflow_get(workflow_id=workflow_id)
    except NotFound:
        raise Http404


# ---- list ---------------------------------------------------------------------------------


@tier_required
def workflow_list(request):
    page = Paginator(selectors.workflow_list(), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "active_nav": "workflows",
        "page": page,
        "pager": numbered_pager(page, lambda n: f"?page={n}"),
        "can_write": request.user.can_write,
    }
    return render(request, "workflows/list.html", context)


# ---- editor -------------------------------------------------------------------------------


def _zoom_webinars() -> dict:
    """The webinars the Zoom steps may use, for the editor's pickers. The Zoom integration
    provides them through its action's `choices` hook: this app does not import it."""
    brand = Brand.objects.filter(is_primary=True).first()
    action = editor_action()  # the registered step that offers webinars to pick from
    if action is None:
        return {"brand": brand, "connected": False, "webinars": []}
    return {"brand": brand, **action.choices()}


def _lazy_to_text(value):
    """The registry's field specs with their lazy labels rendered (for json_script)."""
    if isinstance(value, dict):
        return {k: _lazy_to_text(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_lazy_to_text(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def flow_catalogue(zoom: dict) -> dict:
    """What the flow editor offers (static/workflows/flow.js): the step types from the action
    registry (label, exits, settings fields) and the choices their fields pick from."""
    specs = all_property_specs()
    return {
        "types": [
            {"type": t.type, "label": str(t.label), "outcomes": list(t.outcomes),
             "fields": _lazy_to_text(t.fields)}
            for t in sorted(REGISTRY.values(), key=lambda t: STEP_ORDER.index(t.type)
                            if t.type in STEP_ORDER else len(STEP_ORDER))
        ],
        "properties": sorted(
            ({"name": s.name, "label": str(spec_label(s)), "type": s.type,
              "writable": not s.read_only and s.name not in ("email", "hs_additional_emails")}
             for s in specs.values()),
            key=lambda p: p["label"].lower(),
        ),
        "segments": list(Segment.objects.filter(kind=SegmentKind.STATIC).order_by("name")
                         .values("id", "name")[:500]),
        "users": [{"id": u.pk, "email": u.email,
                   "label": f"{u.first_name} {u.last_name}".strip() or u.email}
                  for u in User.objects.filter(is_active=True).order_by("email")[:500]],
        "webinars": [{"id": w["id"], "topic": w["topic"], "upcoming": w["upcoming"],
                      "start": w["start_time"].isoformat() if w["start_time"] else None}
                     for w in zoom["webinars"]],
    }  # fmt: skip


# The order the editor's menu lists step types in (others follow, as registered).
STEP_ORDER = [
    "zoom.add_contact_to_webinar", "delay", "branch", "set_property", "notify", "webhook",
    "segment.add", "segment.remove", "zoom.cancel_registration",
]  # fmt: skip


def _editor(request, *, workflow: Workflow | None, state: EditorState, status=200):
    filters = state.filters if isinstance(state.filters, dict) else {}
    zoom = _zoom_webinars()
    context = {
        "active_nav": "workflows",
        "workflow": workflow,
        "state": state,
        "trigger_types": TriggerType.choices,
        "zoom": zoom,
        "flow_catalogue": flow_catalogue(zoom),
        "flow_graph": state.graph,
        "flow_errors": state.step_errors,
        # The segment builder, reused as is (static/segments/builder.js).
        "catalogue": segment_builder.catalogue(),
        "labels": segment_builder.tree_labels(filters),
        "errors_for_js": state.filter_errors,
    }
    return render(request, "workflows/editor.html", context, status=status)


def _save(request, *, workflow: Workflow | None):
    state = editor_from_post(request.POST)
    if state.filters_unreadable and state.trigger_type == TriggerType.FILTERS:
        state.errors["trigger"] = [_("The filters could not be read.")]
        return _editor(request, workflow=workflow, state=state, status=400)
    if state.graph_unreadable:
        state.errors["steps"] = [_("The steps could not be read.")]
        return _editor(request, workflow=workflow, state=state, status=400)
    as_draft = request.POST.get("draft") == "1"
    try:
        if workflow is None:
            workflow = services.workflow_create(
                name=state.name,
                trigger=state.trigger(),
                steps=state.steps,
                start=state.start or None,
                reenrollment=state.reenrollment,
                draft=as_draft,
                actor=request.user,
            )
        else:
            services.workflow_update(
                workflow=workflow,
                name=state.name,
                trigger=state.trigger(),
                steps=state.steps,
                start=state.start or None,
                reenrollment=state.reenrollment,
                draft=as_draft,
                actor=request.user,
            )
    except ValidationFailed as exc:
        state.add_errors(exc.errors or [{"path": "", "message": exc.message}])
        if workflow is not None:
            workflow.refresh_from_db()
        return _editor(request, workflow=workflow, state=state, status=400)
    if workflow.draft:
        messages.info(
            request,
            _("Workflow “%(name)s” saved as a draft: it stays off until what is listed is fixed.")
            % {"name": workflow.name},
        )
    else:
        messages.success(request, _("Workflow “%(name)s” saved.") % {"name": workflow.name})
    if getattr(workflow, "published", False):
        messages.info(
            request,
            _(
                "Version %(n)s published: contacts already enrolled finish on the version "
                "they started."
            )
            % {"n": workflow.version},
        )
    if getattr(workflow, "new_webhook_secret", None):
        _show_secret_once(request, workflow.new_webhook_secret)
    return redirect("workflows:detail", workflow_id=workflow.pk)


def _show_secret_once(request, secret: str) -> None:
    request.session["workflow_webhook_secret"] = secret


@write_required
@tier_required
def workflow_create(request):
    if request.method == "POST":
        return _save(request, workflow=None)
    return _editor(request, workflow=None, state=EditorState())


@write_required
@tier_required
def workflow_edit(request, workflow_id: int):
    workflow = _workflow_or_404(workflow_id)
    if request.method == "POST":
        return _save(request, workflow=workflow)
    return _editor(request, workflow=workflow, state=editor_from_workflow(workflow))


# ---- workflow page ------------------------------------------------------------------------


def _describe_action(config: dict) -> str:
    action_type = REGISTRY.get(config.get("type"))
    return action_type.describe(config) if action_type else str(config.get("type"))


def _describe_draft_step(step: dict) -> str:
    """A draft's step: described when its settings are complete, else what it lacks."""
    try:
        return _describe_action(services.clean_step_settings(step))
    except ValidationFailed as exc:
        problem = (exc.errors or [{"message": exc.message}])[0]
        return _("Incomplete: %(problem)s") % {"problem": problem.get("message") or exc.message}


def _log_filters(params) -> tuple[dict, dict, dict]:
    """The log's GET form: (selector filters, values to show back, errors by field)."""
    values = {key: params.get(key, "").strip() for key in ("status", "action", "contact",
                                                            "since", "until")}  # fmt: skip
    filters: dict = {}
    errors: dict[str, str] = {}
    if values["status"] in ExecutionStatus.values:
        filters["status"] = values["status"]
    if values["action"] in REGISTRY:
        filters["action"] = values["action"]
    contact = values["contact"]
    if is_id_text(contact):
        filters["contact_id"] = int(contact)
    elif contact:
        found = Contact.objects.filter(email=normalize_email(contact)).values_list("pk", flat=True)
        match = found.first()
        if match is None:
            errors["contact"] = _("No contact with the e-mail or id “%(v)s”.") % {"v": contact}
        else:
            filters["contact_id"] = match
    for name in ("since", "until"):
        if not values[name]:
            continue
        day = parse_date(values[name])
        if day is None:
            errors[name] = _("Enter a date, like 2025-01-31.")
            continue
        if name == "until":  # the last day shown is included
            day += dt.timedelta(days=1)
        filters[name] = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return filters, values, errors


def _log_context(request, workflow: Workflow) -> dict:
    filters, values, errors = _log_filters(request.GET)
    log = selectors.execution_log(workflow=workflow, **filters).select_related("enrollment")
    if errors.get("contact"):
        log = log.none()
    page = Paginator(log, LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    for row in page.object_list:
        action_type = REGISTRY.get(row.action_type)
        row.action_label = action_type.label if action_type else row.action_type
    query = request.GET.copy()
    query.pop("page", None)

    def url_for(number: int) -> str:
        query["page"] = number
        return f"?{query.urlencode()}"

    return {
        "log_page": page,
        "log_pager": numbered_pager(page, url_for),
        "log_filters": values,
        "log_errors": errors,
        "log_filtered": any(values.values()),
        "log_pending": ActionExecution.objects.filter(
            workflow=workflow, status__in=PENDING
        ).exists(),
        "statuses": ExecutionStatus.choices,
        "action_types": [(t.type, t.label) for t in REGISTRY.values()],
        "log_url": request.get_full_path(),
    }


@tier_required
def workflow_detail(request, workflow_id: int):
    workflow = _workflow_or_404(workflow_id)
    context = {"active_nav": "workflows", "workflow": workflow, **_log_context(request, workflow)}
    if request.htmx and not request.htmx.boosted:
        return render(request, "workflows/_log.html", context)
    ctx = FilterContext.build(check_references=False)
    enrollments = list(selectors.enrollment_list(workflow=workflow)[:ENROLLMENTS_SHOWN])
    context.update(
        {
            "groups": describe_tree(workflow.filters, ctx)
            if workflow.trigger_type == TriggerType.FILTERS
            else [],
            "flow_catalogue": {
                "types": [
                    {
                        "type": t.type,
                        "label": str(t.label),
                        "outcomes": list(t.outcomes),
                        "fields": [],
                    }
                    for t in REGISTRY.values()
                ]
            },  # fmt: skip
            "flow_graph": {"steps": workflow.steps, "start": workflow.start or None},
            "flow_descriptions": {
                step["id"]: _describe_draft_step(step) if workflow.draft else _describe_action(step)
                for step in workflow.steps
            },
            "step_labels": _step_labels(workflow.steps),
            "enrollments": enrollments,
            "enrolled": workflow.enrollments.count(),
            "problems": [] if workflow.enabled else services.workflow_problems(workflow),
            "webhook_secret": request.session.pop("workflow_webhook_secret", None),
            "has_webhook": any(s.get("type") == "webhook" for s in workflow.steps),
            "can_write": request.user.can_write,
        }
    )
    return render(request, "workflows/detail.html", context)


ENROLLMENTS_SHOWN = 25


def _step_labels(steps: list[dict]) -> dict[str, str]:
    return {
        step["id"]: str(REGISTRY[step["type"]].label) if step.get("type") in REGISTRY
        else step.get("type", "")
        for step in steps
    }  # fmt: skip


@tier_required
def enrollment_detail(request, workflow_id: int, enrollment_id: int):
    """One contact's path through the steps (rule W12), with times and outcomes."""
    workflow = _workflow_or_404(workflow_id)
    try:
        enrollment = selectors.enrollment_get(workflow=workflow, enrollment_id=enrollment_id)
    except NotFound:
        raise Http404
    version_steps = {step["id"]: step for step in enrollment.version.steps}
    rows = []
    for execution in selectors.enrollment_path(enrollment):
        step = version_steps.get(execution.step_id, {"type": execution.action_type})
        label = _step_labels([{**step, "id": execution.step_id}])[execution.step_id]
        rows.append({"execution": execution, "label": label, "text": _describe_action(step),
                     "path": execution.output.get("path")})  # fmt: skip
    context = {
        "active_nav": "workflows",
        "workflow": workflow,
        "enrollment": enrollment,
        "rows": rows,
        "waiting_step": version_steps.get(enrollment.current_step),
    }
    return render(request, "workflows/enrollment.html", context)


@write_required
@tier_required
@require_POST
def workflow_webhook_secret(request, workflow_id: int):
    """Makes a new signing secret for the webhook steps and shows it once."""
    workflow = _workflow_or_404(workflow_id)
    _show_secret_once(request, services.workflow_webhook_secret_rotate(workflow=workflow))
    messages.success(request, _("A new webhook secret was made: the old one no longer signs."))
    return redirect("workflows:detail", workflow_id=workflow.pk)


@write_required
@tier_required
@require_POST
def workflow_toggle(request, workflow_id: int):
    workflow = _workflow_or_404(workflow_id)
    enabled = request.POST.get("enabled") == "1"
    try:
        services.workflow_set_enabled(
            workflow=workflow,
            enabled=enabled,
            enroll_existing=bool(request.POST.get("enroll_existing")),
            actor=request.user,
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("The workflow is on.") if enabled else _("The workflow is off.")
        )
    return redirect("workflows:detail", workflow_id=workflow.pk)


@write_required
@tier_required
@require_POST
def workflow_delete(request, workflow_id: int):
    workflow = _workflow_or_404(workflow_id)
    services.workflow_delete(workflow=workflow, actor=request.user)
    messages.success(request, _("Workflow “%(name)s” deleted.") % {"name": workflow.name})
    return redirect("workflows:list")


# ---- enrollment ---------------------------------------------------------------------------


def _contact_ids(raw: str) -> tuple[list[int], list[str]]:
    """Ids and e-mails typed in one box, comma-separated: (contact ids, what was not found)."""
    tokens = [
        int(t) if is_id_text(t) else normalize_email(t) for t in _SEPARATORS.split(raw.strip()) if t
    ]
    ids = [t for t in tokens if isinstance(t, int)]
    emails = [t for t in tokens if isinstance(t, str)]
    live_contacts = Contact.objects.filter(archived_at__isnull=True)
    found = dict(live_contacts.filter(email__in=emails).values_list("email", "pk"))
    found.update({pk: pk for pk in live_contacts.filter(pk__in=ids).values_list("pk", flat=True)})
    missing = [str(t) for t in tokens if t not in found]  # in the order typed
    return list(dict.fromkeys(found[t] for t in tokens if t in found)), missing


def _outcome_message(request, outcome_enrolled: int, skipped: list[dict]) -> None:
    text = ngettext("%(n)d contact enrolled.", "%(n)d contacts enrolled.", outcome_enrolled) % {
        "n": outcome_enrolled
    }
    if skipped:
        reasons = sorted({_(s["reason"]) for s in skipped if s.get("reason")})
        if reasons:
            skipped_text = ngettext(
                "%(n)d skipped (%(reasons)s).", "%(n)d skipped (%(reasons)s).", len(skipped)
            ) % {"n": len(skipped), "reasons": "; ".join(reasons)}
        else:
            skipped_text = ngettext("%(n)d skipped.", "%(n)d skipped.", len(skipped)) % {
                "n": len(skipped)
            }
        # Translators: two sentences, e.g. "3 contacts enrolled. 1 skipped (…)."
        text = _("%(enrolled)s %(skipped)s") % {"enrolled": text, "skipped": skipped_text}
    (messages.success if outcome_enrolled else messages.info)(request, text)


def _enroll(request, workflow: Workflow, contact_ids: list[int]) -> None:
    try:
        outcome = services.workflow_enroll(
            workflow=workflow, contact_ids=contact_ids, actor=request.user
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return
    _outcome_message(request, len(outcome.enrolled), outcome.skipped)


def _workflow_from_post(request) -> Workflow | None:
    raw = request.POST.get("workflow", "")
    workflow = Workflow.objects.filter(pk=raw).first() if is_id_text(raw) else None
    if workflow is None:
        messages.error(request, _("Choose a workflow."))
    return workflow


@write_required
@tier_required
@require_POST
def workflow_enroll(request, workflow_id: int):
    """Enroll contacts typed by e-mail or id on the workflow page."""
    workflow = _workflow_or_404(workflow_id)
    raw = request.POST.get("contacts", "")
    ids, missing = _contact_ids(raw)
    if missing:
        messages.error(
            request,
            _("No live contact with the e-mail or id %(v)s. Nobody was enrolled.")
            % {"v": ", ".join(missing[:10])},
        )
    elif not ids:
        messages.error(request, _("Type the e-mails or ids of the contacts to enroll."))
    else:
        _enroll(request, workflow, ids)
    return redirect("workflows:detail", workflow_id=workflow.pk)


@write_required
@tier_required
@require_POST
def enroll_contact(request, contact_id: int):
    """The contact page's "Enroll in workflow" form."""
    contact = Contact.objects.filter(pk=contact_id).first()
    if contact is None:
        raise Http404
    workflow = _workflow_from_post(request)
    if workflow is not None:
        _enroll(request, workflow, [contact.pk])
    return redirect("crm:contact_detail", contact_id=contact.pk)


@write_required
@tier_required
@require_POST
def enroll_segment(request, segment_id: int):
    """The segment page's "Enroll these contacts in a workflow" form: every member, in chunks
    of the services' limit."""
    try:
        segment = segment_selectors.segment_get(segment_id=segment_id)
    except NotFound:
        raise Http404
    workflow = _workflow_from_post(request)
    if workflow is None:
        return redirect("segments:detail", segment_id=segment.pk)
    ids = list(
        segment_selectors.segment_contacts(segment=segment)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not ids:
        messages.info(request, _("This segment has no members: nobody was enrolled."))
        return redirect("segments:detail", segment_id=segment.pk)
    enrolled, skipped = 0, []
    try:
        for start in range(0, len(ids), services.MAX_ENROLL_IDS):
            chunk = ids[start : start + services.MAX_ENROLL_IDS]
            outcome = services.workflow_enroll(workflow=workflow, contact_ids=chunk,
                                               actor=request.user)  # fmt: skip
            enrolled += len(outcome.enrolled)
            skipped += outcome.skipped
    except ApplicationError as exc:
        messages.error(request, exc.message)
        if not enrolled:
            return redirect("segments:detail", segment_id=segment.pk)
    _outcome_message(request, enrolled, skipped)
    return redirect("segments:detail", segment_id=segment.pk)
