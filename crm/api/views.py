"""The own REST API under /api/v1/: account, brands, users, API tokens, contact timelines,
the audit log.
Thin views: parse with an input serializer, call a service or selector, render an output one."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import scopes, selectors
from ..audit import audit_entries, audit_filters_parse
from ..models import ApiToken, AuditEntry, AuditKind
from ..services import accounts, tokens
from . import serializers as s
from .pagination import IdCursorPagination, TimelineCursorPagination
from .schema import ErrorOutput, paged_list
from .validation import valid_input


class AccountView(APIView):
    read_scope = scopes.ACCOUNT_READ
    write_scope = scopes.ACCOUNT_WRITE
    write_needs = "settings"

    @extend_schema(responses=s.AccountOutput)
    def get(self, request):
        return Response(s.AccountOutput(accounts.account_get()).data)

    @extend_schema(request=s.AccountInput, responses=s.AccountOutput)
    def patch(self, request):
        data = valid_input(s.AccountInput, request.data)
        account = accounts.account_update(
            name=data.get("name"),
            tier=data.get("tier"),
            registration_consent_text=data.get("registration_consent_text"),
            actor=request.user,
        )
        return Response(s.AccountOutput(account).data)


class BrandListView(APIView):
    error_statuses = {409: _("A brand already has this name.")}
    read_scope = scopes.ACCOUNT_READ
    write_scope = scopes.ACCOUNT_WRITE
    write_needs = "settings"

    @paged_list(s.BrandOutput)
    def get(self, request):
        paginator = IdCursorPagination()
        paginator.ordering = "id"
        page = paginator.paginate_queryset(selectors.brand_list(), request, view=self)
        return paginator.get_paginated_response(s.BrandOutput(page, many=True).data)

    @extend_schema(request=s.BrandInput, responses={201: s.BrandOutput})
    def post(self, request):
        data = valid_input(s.BrandInput, request.data)
        brand = accounts.brand_create(
            name=data["name"], is_primary=data["is_primary"], actor=request.user
        )
        return Response(s.BrandOutput(brand).data, status=status.HTTP_201_CREATED)


class BrandDetailView(APIView):
    error_statuses = {409: _("A brand already has this name, or the brand still owns data.")}
    read_scope = scopes.ACCOUNT_READ
    write_scope = scopes.ACCOUNT_WRITE
    write_needs = "settings"

    @extend_schema(responses=s.BrandOutput)
    def get(self, request, brand_id: int):
        return Response(s.BrandOutput(selectors.brand_get(brand_id=brand_id)).data)

    @extend_schema(request=s.BrandUpdateInput, responses=s.BrandOutput)
    def patch(self, request, brand_id: int):
        data = valid_input(s.BrandUpdateInput, request.data)
        brand = accounts.brand_update(
            brand=selectors.brand_get(brand_id=brand_id),
            name=data.get("name"),
            is_primary=data.get("is_primary"),
            actor=request.user,
        )
        return Response(s.BrandOutput(brand).data)

    @extend_schema(
        responses={
            204: None,
            409: OpenApiResponse(
                ErrorOutput,
                description=_(
                    "The brand is the primary one, or still has data (a Zoom connection, "
                    "marketing events): `detail` says what holds it. Nothing is deleted."
                ),
            ),
        }
    )
    def delete(self, request, brand_id: int):
        accounts.brand_delete(brand=selectors.brand_get(brand_id=brand_id), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserListView(APIView):
    error_statuses = {409: _("A user already has this e-mail.")}
    read_scope = scopes.ACCOUNT_READ
    write_scope = scopes.ACCOUNT_WRITE
    write_needs = "settings"

    @paged_list(s.UserOutput)
    def get(self, request):
        paginator = IdCursorPagination()
        paginator.ordering = "id"
        page = paginator.paginate_queryset(selectors.user_list(), request, view=self)
        return paginator.get_paginated_response(s.UserOutput(page, many=True).data)

    @extend_schema(request=s.UserInput, responses={201: s.UserOutput})
    def post(self, request):
        data = valid_input(s.UserInput, request.data)
        user = accounts.user_create(**data, actor=request.user)
        return Response(s.UserOutput(user).data, status=status.HTTP_201_CREATED)


class UserDetailView(APIView):
    error_statuses = {
        409: _("The e-mail is taken, or the change would leave no active super admin.")
    }
    read_scope = scopes.ACCOUNT_READ
    write_scope = scopes.ACCOUNT_WRITE
    write_needs = "settings"

    @extend_schema(responses=s.UserOutput)
    def get(self, request, user_id: int):
        return Response(s.UserOutput(accounts.user_get(user_id=user_id)).data)

    @extend_schema(request=s.UserUpdateInput, responses=s.UserOutput)
    def patch(self, request, user_id: int):
        data = valid_input(s.UserUpdateInput, request.data)
        user = accounts.user_update(
            user=accounts.user_get(user_id=user_id), **data, actor=request.user
        )
        return Response(s.UserOutput(user).data)


class _OwnTokensView(APIView):
    """The requesting user's own API tokens: a logged-in person only, never a token."""

    read_scope = None
    write_scope = None

    def check_permissions(self, request):
        super().check_permissions(request)
        # A token never mints or lists tokens: only a logged-in person does.
        if isinstance(request.auth, ApiToken):
            self.permission_denied(
                request,
                message=_(
                    "API tokens are managed from the web UI or `manage.py create_api_token`."
                ),
            )

    def get_permissions(self):
        from rest_framework.permissions import IsAuthenticated

        return [IsAuthenticated()]


class TokenListView(_OwnTokensView):
    @paged_list(s.TokenOutput)
    def get(self, request):
        paginator = IdCursorPagination()
        page = paginator.paginate_queryset(selectors.token_list(user=request.user), request, self)
        return paginator.get_paginated_response(s.TokenOutput(page, many=True).data)

    @extend_schema(request=s.TokenInput, responses={201: s.TokenCreatedOutput})
    def post(self, request):
        data = valid_input(s.TokenInput, request.data)
        token, clear = tokens.api_token_create(
            user=request.user, name=data["name"], scopes=data.get("scopes"), actor=request.user
        )
        body = dict(s.TokenOutput(token).data, token=clear)
        return Response(body, status=status.HTTP_201_CREATED)


class TokenDetailView(_OwnTokensView):
    """Revoking only: a token's URL neither lists nor creates tokens."""

    @extend_schema(responses={204: None})
    def delete(self, request, token_id: int):
        token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
        tokens.api_token_revoke(token=token, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ContactTimelineView(APIView):
    read_scope = scopes.CONTACTS_READ

    @paged_list(s.TimelineEventOutput)
    def get(self, request, contact_id: int):
        contact = selectors.contact_get(contact_id=contact_id)
        paginator = TimelineCursorPagination()
        page = paginator.paginate_queryset(
            selectors.timeline_for_contact(contact=contact), request, view=self
        )
        return paginator.get_paginated_response(s.TimelineEventOutput(page, many=True).data)


class AuditCursorPagination(IdCursorPagination):
    ordering = ("-occurred_at", "-id")


def _audit_output(entry: AuditEntry) -> dict:
    return {
        "id": entry.pk,
        "occurred_at": entry.occurred_at,
        "kind": entry.kind,
        "actor": {"id": entry.actor_id, "email": entry.actor_email} if entry.actor_email else None,
        "via": entry.via,
        "token": {"id": entry.token_id, "name": entry.token_name}
        if entry.token_id is not None
        else None,
        "target": {"type": entry.target_type, "id": entry.target_id, "label": entry.target_label},
        "before": entry.before,
        "after": entry.after,
        "request_id": entry.request_id,
    }


# An ISO-8601 date, or a date-time (seconds, fraction and offset optional).
ISO_MOMENT = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$"

AUDIT_FILTER_PARAMETERS = [
    OpenApiParameter(
        "actor",
        {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
        description=_("Only changes by this user id"),
    ),
    OpenApiParameter(
        "kind", {"type": "string", "enum": AuditKind.values}, description=_("Only this kind")
    ),
    OpenApiParameter(
        "since",
        {"type": "string", "pattern": ISO_MOMENT},
        description=_(
            "From this ISO-8601 date or date-time on (a date starts at midnight in the "
            "CRM's time zone)"
        ),
    ),
    OpenApiParameter(
        "until",
        {"type": "string", "pattern": ISO_MOMENT},
        description=_("Up to this ISO-8601 date-time (excluded), or this whole date (included)"),
    ),
]


class AuditLogView(APIView):
    """Who changed what and when, newest first. Super admins only: a token needs the scope
    `crm.audit.read` (which only a super admin's token can hold) and its owner must still be
    a super admin."""

    read_scope = scopes.AUDIT_READ

    def check_permissions(self, request):
        super().check_permissions(request)
        if not request.user.can_manage_settings:
            self.permission_denied(
                request,
                message=_("Only super admins may read the audit log (your role: %(role)s).")
                % {"role": request.user.get_role_display()},
            )

    @paged_list(s.AuditEntryOutput, parameters=AUDIT_FILTER_PARAMETERS)
    def get(self, request):
        filters = audit_filters_parse(request.query_params, strict=True)
        paginator = AuditCursorPagination()
        page = paginator.paginate_queryset(audit_entries(filters), request, view=self)
        return paginator.get_paginated_response(
            s.AuditEntryOutput([_audit_output(e) for e in page], many=True).data
        )
