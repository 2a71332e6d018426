"""HubSpot-compatible contacts v3 batch endpoints. 200/201 when every input succeeded, 207
multi-status with `numErrors` and `errors` when some failed (see `crm.hubspot.batch` for how
failures are isolated), 400 for a malformed batch (nothing written)."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from ..properties import DEFAULT_RETURNED, all_property_specs, format_datetime
from . import batch, pagination, selectors
from . import serializers as s
from .views import TAGS, ContactsApiView, valid


def batch_response(outcome: batch.BatchOutcome, *, started_at, names, ok_status: int) -> Response:
    specs = all_property_specs()
    body = {
        "status": "COMPLETE",
        "results": [
            s.simple_public_object(c, names, specs, **extra) for c, extra in outcome.results
        ],
        "startedAt": format_datetime(started_at),
        "completedAt": format_datetime(timezone.now()),
    }
    if outcome.errors:
        body["numErrors"] = len(outcome.errors)
        body["errors"] = outcome.errors
    return Response(body, status=status.HTTP_207_MULTI_STATUS if outcome.errors else ok_status)


def _written_names(inputs) -> list[str]:
    names = list(DEFAULT_RETURNED)
    for item in inputs:
        names.extend(item["properties"])
    return s.returned_names(names, DEFAULT_RETURNED)


def _refetched(outcome: batch.BatchOutcome) -> batch.BatchOutcome:
    """Reloads written contacts in one query so that secondary e-mails are current."""
    fresh = selectors.contacts_by_ids([c.pk for c, _extra in outcome.results])
    outcome.results = [(fresh.get(str(c.pk), c), extra) for c, extra in outcome.results]
    return outcome


class BatchReadView(ContactsApiView):
    read_only_post = True

    @extend_schema(
        tags=TAGS,
        summary="Read a batch of contacts by id or e-mail",
        operation_id="contacts_batch_read",
        responses={200: s.BatchOutput, 207: s.BatchOutput},
        request=s.BatchReadInput,
        parameters=[OpenApiParameter("archived", bool)],
    )
    def post(self, request):
        started_at = timezone.now()
        data = valid(s.BatchReadInput, request.data)
        # The query's `archived` is checked even when the body's wins.
        query_archived = pagination.parse_bool(request.GET.get("archived"), "archived")
        archived = data.get("archived")
        if archived is None:
            archived = query_archived
        ids = [item["id"] for item in data["inputs"]]
        found = selectors.contacts_by_ids(
            ids, id_property=data.get("idProperty"), archived=archived
        )
        outcome = batch.BatchOutcome(
            results=[(found[i], {}) for i in dict.fromkeys(ids) if i in found]
        )
        missing = [i for i in dict.fromkeys(ids) if i not in found]
        if missing:
            outcome.errors.append(
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": _(
                        "Could not get some CONTACT objects, they may be deleted or not "
                        "exist. Check that ids are valid."
                    ),
                    "context": {"ids": missing},
                }
            )
        names = s.returned_names(data.get("properties"), DEFAULT_RETURNED)
        return batch_response(
            outcome, started_at=started_at, names=names, ok_status=status.HTTP_200_OK
        )


class BatchCreateView(ContactsApiView):
    @extend_schema(
        tags=TAGS,
        summary="Create a batch of contacts",
        request=s.BatchCreateInput,
        operation_id="contacts_batch_create",
        responses={201: s.BatchOutput, 207: s.BatchOutput},
    )
    def post(self, request):
        started_at = timezone.now()
        data = valid(s.BatchCreateInput, request.data)
        outcome = batch.batch_create(inputs=data["inputs"], actor=request.user)
        return batch_response(
            _refetched(outcome),
            started_at=started_at,
            names=_written_names(data["inputs"]),
            ok_status=status.HTTP_201_CREATED,
        )


class BatchUpdateView(ContactsApiView):
    @extend_schema(
        tags=TAGS,
        summary="Update a batch of contacts",
        request=s.BatchUpdateInput,
        operation_id="contacts_batch_update",
        responses={200: s.BatchOutput, 207: s.BatchOutput},
    )
    def post(self, request):
        started_at = timezone.now()
        data = valid(s.BatchUpdateInput, request.data)
        outcome = batch.batch_update(inputs=data["inputs"], actor=request.user)
        return batch_response(
            _refetched(outcome),
            started_at=started_at,
            names=_written_names(data["inputs"]),
            ok_status=status.HTTP_200_OK,
        )


class BatchUpsertView(ContactsApiView):
    @extend_schema(
        tags=TAGS,
        summary="Create or update a batch of contacts by e-mail",
        operation_id="contacts_batch_upsert",
        responses={200: s.BatchUpsertOutput, 207: s.BatchUpsertOutput},
        request=s.BatchUpsertInput,
    )
    def post(self, request):
        started_at = timezone.now()
        data = valid(s.BatchUpsertInput, request.data)
        outcome = batch.batch_upsert(inputs=data["inputs"], actor=request.user)
        return batch_response(
            _refetched(outcome),
            started_at=started_at,
            names=_written_names(data["inputs"]),
            ok_status=status.HTTP_200_OK,
        )


class BatchArchiveView(ContactsApiView):
    @extend_schema(
        tags=TAGS,
        summary="Archive a batch of contacts",
        operation_id="contacts_batch_archive",
        request=s.BatchArchiveInput,
        responses={204: None},
    )
    def post(self, request):
        data = valid(s.BatchArchiveInput, request.data)
        batch.batch_archive(ids=[item["id"] for item in data["inputs"]], actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
