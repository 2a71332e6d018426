"""`/api/v1/zoom/`: connections, settings, Zoom users and webinars, sync runs.
Reads need `zoom.read`; changes need `zoom.write` and a super admin."""

from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from crm import selectors as crm_selectors
from crm.api.pagination import IdCursorPagination
from crm.api.schema import paged_list, search_parameter
from crm.api.validation import valid_input
from crm.errors import NotFound
from crm.search_text import clean_search

from .. import selectors
from ..models import SyncRun, SyncTrigger, ZoomConnection, ZoomUser, ZoomWebinar
from ..services import connections as services
from ..services.metadata import connection_metadata_refresh_queue
from ..services.sync import sync_run_request
from . import serializers as s

READ, WRITE = "zoom.read", "zoom.write"


class ZoomView(APIView):
    read_scope = READ
    write_scope = WRITE
    write_needs = "settings"


def _connection(connection_id) -> ZoomConnection:
    return selectors.connection_get(connection_id=connection_id)


def _page(view, request, queryset, serializer_class, ordering, prepare=None):
    paginator = IdCursorPagination()
    paginator.ordering = ordering
    page = paginator.paginate_queryset(queryset, request, view=view)
    if prepare is not None:
        page = prepare(page)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


class ConnectionListView(ZoomView):
    error_statuses = {
        404: _("The brand does not exist."),
        409: _("The brand is already connected to Zoom."),
        502: _("Zoom could not be reached to check the credentials: try again later."),
    }

    @paged_list(s.ConnectionOutput)
    def get(self, request):
        return _page(
            self, request, ZoomConnection.objects.select_related("brand"), s.ConnectionOutput, "id"
        )

    @extend_schema(request=s.S2SConnectionInput, responses={201: s.ConnectionOutput})
    def post(self, request):
        data = valid_input(s.S2SConnectionInput, request.data)
        connection = services.connection_create_s2s(
            brand=crm_selectors.brand_get(brand_id=data["brand"]),
            account_id=data["account_id"],
            client_id=data["client_id"],
            client_secret=data["client_secret"],
            webhook_secret_token=data["webhook_secret_token"],
            actor=request.user,
        )
        return Response(s.ConnectionOutput(connection).data, status=status.HTTP_201_CREATED)


class OAuthStartView(ZoomView):
    error_statuses = {
        404: _("The brand does not exist."),
        409: _("The brand is already connected to Zoom."),
    }

    @extend_schema(request=s.OAuthStartInput, responses={201: s.OAuthStartOutput})
    def post(self, request):
        data = valid_input(s.OAuthStartInput, request.data)
        connection, url = services.connection_start_oauth(
            brand=crm_selectors.brand_get(brand_id=data["brand"]),
            client_id=data["client_id"],
            client_secret=data["client_secret"],
            webhook_secret_token=data["webhook_secret_token"],
            actor=request.user,
        )
        body = {"authorize_url": url, "connection": s.ConnectionOutput(connection).data}
        return Response(body, status=status.HTTP_201_CREATED)


class ConnectionDetailView(ZoomView):
    @extend_schema(responses=s.ConnectionOutput)
    def get(self, request, connection_id: int):
        return Response(s.ConnectionOutput(_connection(connection_id)).data)

    @extend_schema(responses={200: s.ConnectionOutput}, description="Disconnects; keeps the data.")
    def delete(self, request, connection_id: int):
        connection = services.connection_disconnect(
            connection=_connection(connection_id), actor=request.user
        )
        return Response(s.ConnectionOutput(connection).data)


class ConnectionRefreshView(ZoomView):
    error_statuses = {409: _("The connection is not active: connect it first.")}

    @extend_schema(request=None, responses={202: s.ConnectionOutput})
    def post(self, request, connection_id: int):
        connection = _connection(connection_id)
        if not connection.is_active:
            from crm.errors import Conflict

            raise Conflict(
                _("The connection is %(status)s: connect it first.")
                % {"status": connection.get_status_display()}
            )
        connection_metadata_refresh_queue(connection=connection)
        connection.refresh_from_db()
        return Response(s.ConnectionOutput(connection).data, status=status.HTTP_202_ACCEPTED)


class SettingsView(ZoomView):
    @extend_schema(responses=s.SettingsOutput)
    def get(self, request, connection_id: int):
        return Response(s.SettingsOutput(_connection(connection_id)).data)

    @extend_schema(request=s.SettingsInput, responses=s.SettingsOutput)
    def patch(self, request, connection_id: int):
        data = valid_input(s.SettingsInput, request.data)
        connection = services.connection_settings_update(
            connection=_connection(connection_id), actor=request.user, **data
        )
        return Response(s.SettingsOutput(connection).data)


class ZoomUserListView(ZoomView):
    @paged_list(s.ZoomUserOutput)
    def get(self, request, connection_id: int):
        connection = _connection(connection_id)
        return _page(
            self, request, ZoomUser.objects.filter(connection=connection), s.ZoomUserOutput, "id"
        )


class ZoomUserDetailView(ZoomView):
    def _user(self, connection_id, zoom_user_id) -> ZoomUser:
        user = ZoomUser.objects.filter(
            connection_id=connection_id, zoom_user_id=zoom_user_id
        ).first()
        if user is None:
            raise NotFound(
                _("Zoom user %(user)s is not known on connection %(id)s.")
                % {"user": zoom_user_id, "id": connection_id}
            )
        return user

    @extend_schema(responses=s.ZoomUserOutput)
    def get(self, request, connection_id: int, zoom_user_id: str):
        return Response(s.ZoomUserOutput(self._user(connection_id, zoom_user_id)).data)

    @extend_schema(request=s.ZoomUserInput, responses=s.ZoomUserOutput)
    def patch(self, request, connection_id: int, zoom_user_id: str):
        data = valid_input(s.ZoomUserInput, request.data)
        user = services.zoom_user_update(
            zoom_user=self._user(connection_id, zoom_user_id), actor=request.user, **data
        )
        return Response(s.ZoomUserOutput(user).data)


class ZoomWebinarListView(ZoomView):
    @paged_list(
        s.ZoomWebinarOutput,
        parameters=[
            OpenApiParameter("host", str, description="Zoom user id or e-mail of the host"),
            search_parameter("Text in the topic, or the webinar id"),
            OpenApiParameter("ended", bool),
            OpenApiParameter("sync_enabled", bool),
        ],
    )
    def get(self, request, connection_id: int):
        from django.utils import timezone

        connection = _connection(connection_id)
        qs = ZoomWebinar.objects.filter(connection=connection)
        params = request.query_params
        if params.get("host"):
            qs = qs.filter(Q(host_zoom_id=params["host"]) | Q(host_email=params["host"].lower()))
        term = clean_search(params.get("q"))
        if term:
            condition = Q(topic__icontains=term)
            if term.isascii() and term.isdigit() and len(term) <= 18:  # a webinar id
                condition |= Q(zoom_webinar_id=int(term))
            qs = qs.filter(condition)
        for name in ("ended", "sync_enabled"):
            value = params.get(name)
            if value is not None and value.lower() not in ("true", "false"):
                from crm.errors import ValidationFailed

                raise ValidationFailed(
                    _("%(name)s must be true or false.") % {"name": name},
                    errors=[{"name": name, "message": str(_("Use true or false."))}],
                )
        if params.get("ended") is not None:
            ended = params["ended"].lower() == "true"
            now = timezone.now()
            qs = qs.filter(end_time__lte=now) if ended else qs.exclude(end_time__lte=now)
        if params.get("sync_enabled") is not None:
            qs = qs.filter(sync_enabled=params["sync_enabled"].lower() == "true")
        return _page(self, request, qs, s.ZoomWebinarOutput, "id")


class ZoomWebinarDetailView(ZoomView):
    def _webinar(self, connection_id, zoom_webinar_id) -> ZoomWebinar:
        webinar = ZoomWebinar.objects.filter(
            connection_id=connection_id, zoom_webinar_id=zoom_webinar_id
        ).first()
        if webinar is None:
            raise NotFound(
                _("Webinar %(webinar)s is not known on connection %(id)s.")
                % {"webinar": zoom_webinar_id, "id": connection_id}
            )
        return webinar

    @extend_schema(responses=s.ZoomWebinarDetailOutput)
    def get(self, request, connection_id: int, zoom_webinar_id: int):
        webinar = self._webinar(connection_id, zoom_webinar_id)
        return Response(s.ZoomWebinarDetailOutput(webinar).data)

    @extend_schema(request=s.ZoomWebinarInput, responses=s.ZoomWebinarOutput)
    def patch(self, request, connection_id: int, zoom_webinar_id: int):
        data = valid_input(s.ZoomWebinarInput, request.data)
        webinar = services.zoom_webinar_update(
            webinar=self._webinar(connection_id, zoom_webinar_id), actor=request.user, **data
        )
        return Response(s.ZoomWebinarOutput(webinar).data)


class SyncRequestView(ZoomView):
    error_statuses = {
        409: _(
            "The connection cannot sync now: disconnected, needs re-authorization, "
            "or a sync is under way."
        )
    }
    write_needs = "write"  # marketers may ask for a sync, not change settings

    @extend_schema(request=None, responses={202: s.SyncRequestedOutput})
    def post(self, request, connection_id: int):
        run = sync_run_request(
            connection=_connection(connection_id), trigger=SyncTrigger.API, actor=request.user
        )
        return Response(s.SyncRequestedOutput(run).data, status=status.HTTP_202_ACCEPTED)


class SyncRunListView(ZoomView):
    @paged_list(s.SyncRunOutput)
    def get(self, request, connection_id: int):
        connection = _connection(connection_id)
        return _page(
            self,
            request,
            SyncRun.objects.filter(connection=connection),
            s.SyncRunOutput,
            "-id",
            prepare=selectors.sync_runs_with_live_totals,
        )


class SyncRunDetailView(ZoomView):
    @extend_schema(responses=s.SyncRunOutput)
    def get(self, request, run_id: int):
        run = SyncRun.objects.filter(pk=run_id).first()
        if run is None:
            raise NotFound(_("Sync run %(id)s does not exist.") % {"id": run_id})
        # While it runs, its counts and skips so far.
        selectors.sync_runs_with_live_totals([run])
        return Response(s.SyncRunOutput(run).data)


class SyncRunSkipsView(ZoomView):
    @paged_list(
        s.SyncSkipOutput,
        parameters=[OpenApiParameter("reason", str, description="Only this skip reason")],
    )
    def get(self, request, run_id: int):
        from ..models import SyncSkip

        run = SyncRun.objects.filter(pk=run_id).first()
        if run is None:
            raise NotFound(_("Sync run %(id)s does not exist.") % {"id": run_id})
        skips = SyncSkip.objects.filter(run=run)
        if request.query_params.get("reason"):
            skips = skips.filter(reason=request.query_params["reason"])
        return _page(self, request, skips, s.SyncSkipOutput, "id")
