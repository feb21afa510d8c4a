from datetime import datetime
from typing import Any

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billing.api.errors import ErrorSerializer
from billing.api.viewsets import TenantModelViewSet, TenantRequest, TransactionalAPIView
from billing.clock import clock_now
from invoices.representations import InvoiceSerializer
from subscriptions import selectors, services
from subscriptions.api.serializers import (
    SubscriptionCancelSerializer,
    SubscriptionPauseSerializer,
    TestClockAdvanceSerializer,
    TestClockJobSerializer,
    TestClockSerializer,
    UpcomingInvoiceSerializer,
)
from subscriptions.filters import SubscriptionFilter
from subscriptions.models import Subscription, TestClockJob
from subscriptions.representations import SubscriptionSerializer
from subscriptions.services import clocks
from subscriptions.upcoming import subscription_upcoming


def _now(request: TenantRequest) -> datetime:
    return clock_now(workspace=request.workspace, test_mode=request.test_mode)


class SubscriptionViewSet(TenantModelViewSet):
    queryset = selectors.subscription_queryset()
    serializer_class = SubscriptionSerializer
    filterset_class = SubscriptionFilter
    search_fields = ["note", "customer__name", "customer__tax_id"]
    ordering_fields = ("created", "updated", "next_billing", "date_start")
    reads_delete_body = True  # destroy: the cancel options, in the body or the query

    def create_object(self, data: dict[str, Any]) -> Subscription:
        return services.subscription_create(
            workspace=self.request.workspace,
            test_mode=self.request.test_mode,
            now=_now(self.request),
            **data,
        )

    def update_object(self, instance: Subscription, data: dict[str, Any]) -> Subscription:
        return services.subscription_update(
            subscription=instance,
            now=_now(self.request),
            **data,
        )

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        response = super().create(request, *args, **kwargs)
        # Show the state after the first cycle, which create may have billed.
        fresh = self.get_queryset().get(pk=response.data["id"])
        response.data = self.get_serializer(fresh).data
        return response

    @extend_schema(
        request=SubscriptionCancelSerializer,
        parameters=[SubscriptionCancelSerializer],
        responses={200: SubscriptionSerializer},  # the cancelled subscription, not a 204
    )
    def destroy(self, request: Request, *args: object, **kwargs: object) -> Response:
        """Cancel, now or at the end of the billed period; `cancel_reason`,
        `at_period_end` and `prorate` in the body or the query. `prorate` credits the
        unused days of the billed period with a credit note. Metered lines' usage not yet
        billed goes on a final invoice: now, or when the period ends."""
        body = SubscriptionCancelSerializer(data=request.data or request.query_params.dict())
        body.is_valid(raise_exception=True)
        return self._respond(
            services.subscription_cancel(
                subscription=self.get_object(), now=_now(self.request), **body.validated_data
            )
        )

    @extend_schema(request=SubscriptionPauseSerializer, responses=SubscriptionSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str) -> Response:
        body = SubscriptionPauseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._respond(
            services.subscription_pause(
                subscription=self.get_object(), now=_now(self.request), **body.validated_data
            )
        )

    @extend_schema(request=None, responses=SubscriptionSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str) -> Response:
        return self._respond(
            services.subscription_resume(subscription=self.get_object(), now=_now(self.request))
        )

    @extend_schema(request=None, responses=SubscriptionSerializer)
    @action(detail=True, methods=["post"])
    def process(self, request: Request, pk: str) -> Response:
        """Bill the period running today now instead of waiting for the scheduler; a
        period already billed is answered as it is, never billed twice."""
        subscription = self.get_object()
        services.subscription_process_current(subscription=subscription, now=_now(self.request))
        return self._respond(subscription)

    @extend_schema(request=None, responses=InvoiceSerializer(many=True))
    @action(detail=True, methods=["get"], filter_backends=[])
    def invoices(self, request: Request, pk: str) -> Response:
        """The subscription's invoices, newest period first: its billing history."""
        invoices = selectors.subscription_invoices(subscription=self.get_object())
        page = self.paginate_queryset(invoices)
        context = self.get_serializer_context()
        data = InvoiceSerializer(page, many=True, context=context).data
        return self.get_paginated_response(data)

    @extend_schema(
        request=None,
        responses={200: UpcomingInvoiceSerializer, 404: ErrorSerializer, 409: ErrorSerializer},
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def upcoming(self, request: Request, pk: str) -> Response:
        """The invoice the next cycle would issue now: the next period's fixed lines and
        the running period's usage so far, priced. A preview; nothing is stored."""
        upcoming = subscription_upcoming(subscription=self.get_object(), now=_now(self.request))
        return Response(UpcomingInvoiceSerializer(upcoming).data)


class TestClockView(TransactionalAPIView):
    """Test mode's clock. Live mode answers the real time and cannot be moved.

    Advancing runs outside a request transaction: it charges cards on the way, and each
    step commits on its own (clocks.clock_advance). It needs no idempotency key either:
    advancing again to the same `advance_to` finds the clock there and does nothing.
    """

    request: TenantRequest

    def _run_handler(self, request: Request, *args: object, **kwargs: object) -> Response:
        if request.method == "POST":
            return self.post(request)
        return super()._run_handler(request, *args, **kwargs)

    def _clock(self) -> Response:
        workspace = self.request.workspace
        frozen = self.request.test_mode and workspace.test_clock_at is not None
        data = {"now": _now(self.request), "frozen": frozen, "timezone": workspace.timezone}
        return Response(TestClockSerializer(data).data)

    @extend_schema(responses=TestClockSerializer)
    def get(self, request: Request) -> Response:
        return self._clock()

    @extend_schema(
        request=TestClockAdvanceSerializer,
        parameters=[
            OpenApiParameter(
                "Prefer",
                str,
                OpenApiParameter.HEADER,
                description="`respond-async`: answer 202 at once with a job to poll "
                "(a long advance outlives a proxy's timeout).",
            )
        ],
        responses={200: TestClockSerializer, 202: TestClockJobSerializer},
    )
    def post(self, request: Request) -> Response:
        """Advance the test clock, running every cycle due up to then, in order. With
        `Prefer: respond-async` a worker runs it: 202 and a job to poll."""
        body = TestClockAdvanceSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        if "respond-async" in request.headers.get("Prefer", ""):
            job = clocks.clock_job_start(
                workspace=self.request.workspace,
                test_mode=self.request.test_mode,
                now=_now(self.request),
                to=body.validated_data["advance_to"],
            )
            data = clock_job_data(job)
            return Response(data, status=202, headers={"Location": str(data["url"])})
        self.request.workspace = clocks.clock_advance(
            workspace=self.request.workspace,
            test_mode=self.request.test_mode,
            now=_now(self.request),
            to=body.validated_data["advance_to"],
        )
        return self._clock()


def clock_job_data(job: TestClockJob) -> dict[str, object]:
    return TestClockJobSerializer(
        {
            "id": job.id,
            "status": job.status,
            "started_from": job.started_from,
            "advance_to": job.advance_to,
            "progress": clocks.clock_job_progress(job),
            "error": {"code": job.error_code, "detail": job.error_detail}
            if job.status == "failed"
            else None,
            "url": reverse("test-clock-job", kwargs={"pk": job.id}),
            "created": job.created_at,
            "finished_at": job.finished_at,
        }
    ).data


class TestClockJobView(TransactionalAPIView):
    """One advance run by a worker: poll it until `status` is not `running`."""

    request: TenantRequest

    @extend_schema(responses=TestClockJobSerializer)
    def get(self, request: Request, pk: str) -> Response:
        job = get_object_or_404(
            TestClockJob,
            pk=pk,
            workspace=self.request.workspace,
            test_mode=self.request.test_mode,
        )
        return Response(clock_job_data(job))
