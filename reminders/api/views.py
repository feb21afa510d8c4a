"""`/reminders/templates/`, `/reminders/rules/`, `/reminders/messages/` (what was sent)
and `/reminders/pendings/` (what will be)."""

from typing import Any

from rest_framework import exceptions, mixins
from rest_framework.request import Request
from rest_framework.response import Response

from billing.api.filters import FilterBackend
from billing.api.viewsets import (
    PartialUpdateModelMixin,
    ServiceWriteMixin,
    TenantModelViewSet,
    TenantViewSet,
)
from reminders import selectors, services
from reminders.filters import ReminderMessageFilter, ReminderPendingFilter
from reminders.models import ReminderMessage, ReminderRule, ReminderTemplate
from reminders.representations import (
    ReminderMessageSerializer,
    ReminderPendingSerializer,
    ReminderRuleSerializer,
    ReminderTemplateSerializer,
)


class _TenantWrites(TenantModelViewSet):
    @property
    def tenant(self) -> dict[str, Any]:
        request: Any = self.request
        return {"workspace": request.workspace, "test_mode": request.test_mode}


class ReminderTemplateViewSet(_TenantWrites):
    queryset = selectors.template_queryset()
    serializer_class = ReminderTemplateSerializer
    filterset_fields = ["language"]
    search_fields = ["name", "subject"]

    def create_object(self, data: dict[str, Any]) -> ReminderTemplate:
        return services.template_create(**self.tenant, **data)

    def update_object(self, instance: ReminderTemplate, data: dict[str, Any]) -> ReminderTemplate:
        return services.template_update(template=instance, **data)

    def perform_destroy(self, instance: ReminderTemplate) -> None:
        services.template_delete(template=instance)


class ReminderRuleViewSet(_TenantWrites):
    queryset = selectors.rule_queryset()
    serializer_class = ReminderRuleSerializer
    filterset_fields = ["active", "template"]
    search_fields = ["name"]

    def create_object(self, data: dict[str, Any]) -> ReminderRule:
        return services.rule_create(**self.tenant, now=self.tenant_now(), **data)

    def update_object(self, instance: ReminderRule, data: dict[str, Any]) -> ReminderRule:
        return services.rule_update(rule=instance, now=self.tenant_now(), **data)

    def perform_destroy(self, instance: ReminderRule) -> None:
        services.rule_delete(rule=instance)


class ReminderMessageViewSet(
    ServiceWriteMixin,
    mixins.RetrieveModelMixin,
    PartialUpdateModelMixin,
    mixins.ListModelMixin,
    TenantViewSet,
):
    """The reminders sent (or failed), one per rule and invoice; beat writes them. PUT
    changes their metadata only."""

    queryset = selectors.message_queryset()
    serializer_class = ReminderMessageSerializer
    filterset_class = ReminderMessageFilter
    ordering_fields = ("created", "updated", "sent_at")

    def update_object(self, instance: ReminderMessage, data: dict[str, Any]) -> ReminderMessage:
        return services.message_update(message=instance, **data)


class ReminderPendingViewSet(TenantViewSet):
    """The reminders the active rules will send, by the day they go out."""

    queryset = selectors.rule_queryset()  # the rules whose pendings are listed
    serializer_class = ReminderPendingSerializer
    ordering_fields = ()  # listed by send date, as the rules compute them
    # Documents and admits the filters; `list` applies them to the pendings it computes.
    filter_backends: list[Any] = [FilterBackend]
    filterset_class = ReminderPendingFilter

    def list(self, request: Request) -> Response:
        rules = self.get_queryset().filter(active=True)
        query = ReminderPendingFilter(request.query_params, queryset=rules, request=request)
        if not query.is_valid():
            raise exceptions.ValidationError(query.errors)
        query.check_ids()
        pendings = selectors.rules_pendings(rules)
        page = self.paginate_queryset([p for p in pendings if query.matches(p)])
        return self.get_paginated_response(ReminderPendingSerializer(page, many=True).data)
