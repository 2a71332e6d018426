"""Output shapes of the HubSpot-compatible marketing events API, for the OpenAPI schema only
(rendering is done by the functions in `serializers`)."""

from rest_framework import serializers

from crm.hubspot.serializers import PagingOutput


class CustomPropertyOutput(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.CharField(allow_null=True)


class AppInfoOutput(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()


class EventOutput(serializers.Serializer):
    id = serializers.CharField()
    objectId = serializers.CharField()
    externalAccountId = serializers.CharField()
    externalEventId = serializers.CharField()
    eventName = serializers.CharField()
    eventType = serializers.CharField()
    eventOrganizer = serializers.CharField()
    eventDescription = serializers.CharField()
    eventUrl = serializers.CharField()
    startDateTime = serializers.DateTimeField(allow_null=True)
    endDateTime = serializers.DateTimeField(allow_null=True)
    eventCancelled = serializers.BooleanField()
    eventCompleted = serializers.BooleanField()
    eventStatus = serializers.CharField()
    appInfo = AppInfoOutput()
    customProperties = CustomPropertyOutput(many=True)
    registrants = serializers.IntegerField()
    attendees = serializers.IntegerField()
    cancellations = serializers.IntegerField()
    noShows = serializers.IntegerField()
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()


class EventPageOutput(serializers.Serializer):
    results = EventOutput(many=True)
    paging = PagingOutput(required=False)


class EventBatchOutput(serializers.Serializer):
    status = serializers.CharField()
    results = EventOutput(many=True)
    startedAt = serializers.DateTimeField()
    completedAt = serializers.DateTimeField()


class IdentifierOutput(serializers.Serializer):
    objectId = serializers.CharField()
    externalAccountId = serializers.CharField()
    externalEventId = serializers.CharField()
    appId = serializers.IntegerField()
    marketingEventName = serializers.CharField()


class IdentifierListOutput(serializers.Serializer):
    total = serializers.IntegerField(required=False)
    results = IdentifierOutput(many=True)


class CountersOutput(serializers.Serializer):
    registered = serializers.IntegerField()
    attended = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    noShows = serializers.IntegerField()


class BreakdownOutput(serializers.Serializer):
    id = serializers.CharField()
    createdAt = serializers.DateTimeField()
    properties = serializers.DictField()
    associations = serializers.DictField()


class BreakdownPageOutput(serializers.Serializer):
    total = serializers.IntegerField()
    results = BreakdownOutput(many=True)
    paging = PagingOutput(required=False)


class SubscriberOutput(serializers.Serializer):
    email = serializers.CharField(required=False)
    vid = serializers.IntegerField()


class AttendanceBatchOutput(serializers.Serializer):
    status = serializers.CharField()
    results = SubscriberOutput(many=True)
    numErrors = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.DictField())
    requestedAt = serializers.DateTimeField()
    startedAt = serializers.DateTimeField()
    completedAt = serializers.DateTimeField()
