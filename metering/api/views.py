from typing import Any
from zoneinfo import ZoneInfo

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billing.api.errors import ErrorSerializer, ValidationErrorSerializer
from billing.api.viewsets import IDEMPOTENCY_HEADER, TenantModelViewSet, TenantViewSet
from billing.bulk import collector_paused
from billing.errors import InvalidInput
from metering import selectors
from metering.api.answers import ingest_answer
from metering.api.parsers import OrjsonParser
from metering.api.serializers import (
    EventBulkSerializer,
    EventIngestSerializer,
    EventSerializer,
    EventsUsageQuerySerializer,
    UsageQuerySerializer,
    UsageRecordCreateSerializer,
    UsageSerializer,
)
from metering.choices import EVENTS_PER_BULK
from metering.filters import FeatureFilter, MeterFilter, UsageRecordFilter
from metering.models import Feature, Meter, UsageRecord
from metering.representations import FeatureSerializer, MeterSerializer, UsageRecordSerializer
from metering.services import events as event_services
from metering.services import meters as meter_services
from metering.services.records import usage_record_create, usage_record_delete
from metering.services.usage import Usage, usage_for_customer


class MeteringViewSet(TenantViewSet):
    @property
    def tenant(self) -> dict[str, Any]:
        return {"workspace": self.request.workspace, "test_mode": self.request.test_mode}

    def usage(self, meter: Meter, query: dict[str, Any]) -> Usage:
        return usage_for_customer(
            **self.tenant,
            meter=meter,
            customer=query["customer"],
            start=query["start"],
            end=query["end"],
            group_by=query.get("group_by"),
            group_property=query.get("property", ""),
        )


class MeterViewSet(MeteringViewSet, TenantModelViewSet):
    queryset = selectors.meter_queryset()
    serializer_class = MeterSerializer
    filterset_class = MeterFilter
    search_fields = ["name", "event_name"]

    def create_object(self, data: dict[str, Any]) -> Meter:
        return meter_services.meter_create(**self.tenant, **data)

    def update_object(self, instance: Meter, data: dict[str, Any]) -> Meter:
        return meter_services.meter_update(meter=instance, **data)

    def perform_destroy(self, instance: Meter) -> None:
        meter_services.meter_delete(meter=instance)

    @extend_schema(
        parameters=[UsageQuerySerializer],
        responses={
            200: UsageSerializer,
            400: ValidationErrorSerializer,
            409: ErrorSerializer,
        },
    )
    @action(detail=True, methods=["get"], url_path="usage")
    def usage_view(self, request: Request, pk: str) -> Response:
        """The meter's value for a customer over [start, end), optionally grouped."""
        meter = self.get_object()  # another tenant's meter is a 404 whatever the query
        query = UsageQuerySerializer(data=request.query_params, context={"request": request})
        query.is_valid(raise_exception=True)
        return Response(UsageSerializer(self.usage(meter, query.validated_data)).data)


class FeatureViewSet(MeteringViewSet, TenantModelViewSet):
    queryset = selectors.feature_queryset()
    serializer_class = FeatureSerializer
    filterset_class = FeatureFilter
    search_fields = ["key", "name"]

    def create_object(self, data: dict[str, Any]) -> Feature:
        return meter_services.feature_create(**self.tenant, **data)

    def update_object(self, instance: Feature, data: dict[str, Any]) -> Feature:
        return meter_services.feature_update(feature=instance, **data)

    def perform_destroy(self, instance: Feature) -> None:
        meter_services.feature_delete(feature=instance)


class EventViewSet(MeteringViewSet):
    """Usage events: one, a batch, and the usage they add up to."""

    queryset = selectors.event_queryset()
    serializer_class = EventSerializer
    ordering_fields = ()  # no list: events are read as usage
    # A batch of events is a write that reads its caller (key, user, workspace) and changes
    # none of it: it takes the caller from the cache as a read does (billing.auth_cache),
    # which forgets it the moment the key is revoked or the membership or workspace
    # changes. Reading them from the database was about a sixth of the worker's CPU per batch.
    takes_caller_from_cache = True
    # Their events are stored in a transaction that ends before each event's outcome and
    # the answer are written, so the keys it inserts are held by it for no longer: a
    # batch repeating an event of this one waits on them until that commit.
    actions_in_own_transactions = ("create", "bulk")

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # A batch's thousand parsed events live until it is answered: with the collector
        # on, each collection meanwhile walked them again (a tenth of the request's CPU).
        if self.action_map.get((request.method or "").lower()) != "bulk":
            return super().dispatch(request, *args, **kwargs)
        with collector_paused():
            return super().dispatch(request, *args, **kwargs)

    def ingest_response(self, report: event_services.IngestReport) -> Response:
        kept = self.request.headers.get(IDEMPOTENCY_HEADER) is not None
        return Response(ingest_answer(report, kept=kept), status=202)

    @extend_schema(
        request=EventSerializer,
        responses={
            202: EventIngestSerializer,
            400: ValidationErrorSerializer,
        },
    )
    def create(self, request: Request) -> Response:
        """Record one event. A duplicate event_id answers 202 too, marked duplicate."""
        data = request.data
        try:
            zone = ZoneInfo(self.request.workspace.timezone)
            event_services.event_parse(data, now=self.tenant_now(), zone=zone)
        except event_services.EventInvalid as exc:
            raise InvalidInput({exc.field: [exc.message]}) from None
        report = event_services.events_ingest(**self.tenant, events=[data], now=self.tenant_now())
        return self.ingest_response(report)

    @extend_schema(
        request=EventBulkSerializer,
        responses={
            202: EventIngestSerializer,
            400: ValidationErrorSerializer,
        },
    )
    @action(detail=False, methods=["post"], parser_classes=[OrjsonParser])
    def bulk(self, request: Request) -> Response:
        """Record up to 1,000 events; each is answered accepted, duplicate or rejected."""
        data = request.data
        if isinstance(data, dict) and (unknown := sorted(str(k) for k in data if k != "events")):
            raise InvalidInput({key: ["Unknown field."] for key in unknown})
        events = data.get("events") if isinstance(data, dict) else None
        if not isinstance(events, list):
            raise InvalidInput({"events": ['Send {"events": [ … ]}: a list of events.']})
        if not events or len(events) > EVENTS_PER_BULK:
            raise InvalidInput({"events": [f"Send 1 to {EVENTS_PER_BULK} events."]})
        report = event_services.events_ingest(**self.tenant, events=events, now=self.tenant_now())
        # The request, this view and the response refer to one another (DRF), so what
        # they hold is freed only by the cyclic collector: the events, once answered, are
        # dropped now, freed at once instead of walked by collections until then.
        events.clear()
        return self.ingest_response(report)

    @extend_schema(
        request=EventsUsageQuerySerializer,
        responses={
            200: UsageSerializer,
            400: ValidationErrorSerializer,
            409: ErrorSerializer,
        },
    )
    @action(detail=False, methods=["post"], url_path="usage")
    def usage_query(self, request: Request) -> Response:
        """A meter's value for a customer over [start, end), optionally grouped."""
        query = EventsUsageQuerySerializer(data=request.data, context={"request": request})
        query.is_valid(raise_exception=True)
        meter_id = query.validated_data["meter"]
        meter = Meter.objects.filter(**self.tenant, pk=meter_id).first()
        if meter is None:
            raise InvalidInput({"meter": [f"No meter {meter_id} in this workspace."]})
        return Response(UsageSerializer(self.usage(meter, query.validated_data)).data)


class UsageRecordViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.ListModelMixin,
    mixins.DestroyModelMixin,
    MeteringViewSet,
):
    """Piriod's usage records on metered subscription lines."""

    queryset = selectors.usage_record_queryset()
    serializer_class = UsageRecordSerializer
    filterset_class = UsageRecordFilter

    def get_serializer_class(self) -> Any:
        return UsageRecordCreateSerializer if self.action == "create" else UsageRecordSerializer

    @extend_schema(
        request=UsageRecordCreateSerializer,
        responses={201: UsageRecordSerializer, 400: ValidationErrorSerializer},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = UsageRecordCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        record = usage_record_create(
            **self.tenant, **serializer.validated_data, now=self.tenant_now()
        )
        return Response(UsageRecordSerializer(record).data, status=201)

    def perform_destroy(self, instance: UsageRecord) -> None:
        usage_record_delete(record=instance)
