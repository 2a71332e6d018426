"""`/api/v1/zoom/engagement-weights/` (rule E8): the score's weights, read with `zoom.read`,
replaced by a super admin with `zoom.write`; a change recomputes every score in the background,
its progress at `…/engagement-weights/recompute/`."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.errors import ValidationFailed

from .score import PARTS, WeightsInvalid, clean_weights
from .services import recompute_progress, weights_get, weights_set


class WeightsSerializer(serializers.Serializer):
    """The points each part of the score can give at most; they add up to 100."""

    attendance = serializers.IntegerField(min_value=0, max_value=100)
    questions = serializers.IntegerField(min_value=0, max_value=100)
    polls = serializers.IntegerField(min_value=0, max_value=100)
    survey = serializers.IntegerField(min_value=0, max_value=100)
    recording = serializers.IntegerField(min_value=0, max_value=100)


class ProgressSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["idle", "queued", "running"])
    done = serializers.IntegerField()
    total = serializers.IntegerField()


def weights_from_body(body) -> dict[str, int]:
    """The whole object, whole numbers 0-100 adding up to 100; else a 400 naming the problem."""
    try:
        return clean_weights(body)
    except WeightsInvalid as exc:
        problem = str(exc)
        if problem == "sum":
            message = _("The weights must add up to 100.")
        elif problem == "parts":
            message = _("Give every part, and only these: %(parts)s.") % {"parts": ", ".join(PARTS)}
        else:
            message = _("“%(part)s” must be a whole number from 0 to 100.") % {"part": problem}
        raise ValidationFailed(
            message, errors=[{"name": problem if problem in PARTS else "", "message": message}]
        ) from exc


class EngagementWeightsView(APIView):
    read_scope = "zoom.read"
    write_scope = "zoom.write"
    write_needs = "settings"
    error_statuses = {400: gettext_lazy("The weights are not valid (they must add up to 100).")}

    @extend_schema(responses=WeightsSerializer)
    def get(self, request):
        return Response(weights_get())

    @extend_schema(request=WeightsSerializer, responses=WeightsSerializer)
    def put(self, request):
        weights = weights_from_body(request.data)
        weights_set(weights)
        return Response(weights)


class EngagementRecomputeView(APIView):
    read_scope = "zoom.read"
    write_scope = "zoom.write"
    write_needs = "settings"

    @extend_schema(responses=ProgressSerializer)
    def get(self, request):
        return Response(recompute_progress())
