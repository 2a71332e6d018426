"""`/api/v1/zoom/`: question mappings (rule E2), a webinar's registration questions and
tracking sources (E1, E4), and applying the mappings to past answers."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from crm.errors import NotFound

from ..models import ZoomWebinar
from ..models_registration import MappingApplyRun, MappingPolicy, WebinarRegistrationInfo
from ..registration import services
from . import serializers as s
from .views import ZoomView, _connection


class MappingInput(serializers.Serializer):
    question = serializers.CharField(max_length=300)
    property = serializers.CharField(
        max_length=100, allow_blank=True, help_text="A contact property; empty: not mapped"
    )
    policy = serializers.ChoiceField(
        choices=MappingPolicy.choices, default="fill_empty", required=False
    )


class MappingOutput(serializers.Serializer):
    question = serializers.CharField()
    property = serializers.CharField(allow_blank=True)
    policy = serializers.ChoiceField(choices=MappingPolicy.choices)
    builtin = serializers.BooleanField(help_text="A built-in default (connection level only)")


class MappingApplyOutput(serializers.Serializer):
    """The background run applying the mappings to past answers (202)."""

    id = serializers.IntegerField()
    status = serializers.CharField()


class MappingApplyRunOutput(MappingApplyOutput):
    done = serializers.IntegerField(min_value=0)
    total = serializers.IntegerField(min_value=0)
    written = serializers.IntegerField(min_value=0, help_text="Contacts whose values changed")
    refused = serializers.IntegerField(
        min_value=0, help_text="Answers a mapped property could not take"
    )


class QuestionOutput(serializers.Serializer):
    question = serializers.CharField(help_text="Zoom's field name, or the custom title")
    type = serializers.CharField()
    required = serializers.BooleanField()
    answers = serializers.ListField(child=serializers.CharField())


def _webinar(connection_id: int, zoom_webinar_id: int) -> ZoomWebinar:
    webinar = ZoomWebinar.objects.filter(
        connection_id=_connection(connection_id).pk, zoom_webinar_id=zoom_webinar_id
    ).first()
    if webinar is None:
        raise NotFound(
            _("Webinar %(webinar)s is not known on connection %(id)s.")
            % {"webinar": zoom_webinar_id, "id": connection_id}
        )
    return webinar


def _info(webinar: ZoomWebinar) -> WebinarRegistrationInfo | None:
    return WebinarRegistrationInfo.objects.filter(webinar=webinar).first()


class ConnectionMappingsView(ZoomView):
    @extend_schema(responses=MappingOutput(many=True))
    def get(self, request, connection_id: int):
        return Response(
            MappingOutput(services.mappings_list(_connection(connection_id)), many=True).data
        )

    @extend_schema(request=MappingInput(many=True), responses=MappingOutput(many=True))
    def put(self, request, connection_id: int):
        items = services.mappings_replace(
            connection=_connection(connection_id), webinar=None, items=request.data
        )
        return Response(MappingOutput(items, many=True).data)


class WebinarMappingsView(ZoomView):
    @extend_schema(responses=MappingOutput(many=True))
    def get(self, request, connection_id: int, zoom_webinar_id: int):
        webinar = _webinar(connection_id, zoom_webinar_id)
        items = services.mappings_list(webinar.connection, webinar)
        return Response(MappingOutput(items, many=True).data)

    @extend_schema(request=MappingInput(many=True), responses=MappingOutput(many=True))
    def put(self, request, connection_id: int, zoom_webinar_id: int):
        webinar = _webinar(connection_id, zoom_webinar_id)
        items = services.mappings_replace(
            connection=webinar.connection, webinar=webinar, items=request.data
        )
        return Response(MappingOutput(items, many=True).data)


class ConnectionMappingsApplyView(ZoomView):
    @extend_schema(request=None, responses={202: MappingApplyOutput})
    def post(self, request, connection_id: int):
        run = services.mapping_apply_request(connection=_connection(connection_id))
        return Response(MappingApplyOutput(run).data, status=status.HTTP_202_ACCEPTED)


class WebinarMappingsApplyView(ZoomView):
    @extend_schema(request=None, responses={202: MappingApplyOutput})
    def post(self, request, connection_id: int, zoom_webinar_id: int):
        webinar = _webinar(connection_id, zoom_webinar_id)
        run = services.mapping_apply_request(connection=webinar.connection, webinar=webinar)
        return Response(MappingApplyOutput(run).data, status=status.HTTP_202_ACCEPTED)


class MappingApplyRunView(ZoomView):
    @extend_schema(responses=MappingApplyRunOutput)
    def get(self, request, run_id: int):
        run = MappingApplyRun.objects.filter(pk=run_id).first()
        if run is None:
            raise NotFound(_("No such run."))
        return Response(MappingApplyRunOutput(run).data)


class WebinarQuestionsView(ZoomView):
    @extend_schema(responses=QuestionOutput(many=True))
    def get(self, request, connection_id: int, zoom_webinar_id: int):
        info = _info(_webinar(connection_id, zoom_webinar_id))
        return Response(QuestionOutput(info.questions if info else [], many=True).data)


class WebinarTrackingSourcesView(ZoomView):
    @extend_schema(responses=s.WebinarTrackingSourceOutput(many=True))
    def get(self, request, connection_id: int, zoom_webinar_id: int):
        info = _info(_webinar(connection_id, zoom_webinar_id))
        return Response(
            s.WebinarTrackingSourceOutput(info.tracking_sources if info else [], many=True).data
        )
