import operator
from collections.abc import Callable
from typing import Any

import django_filters

from billing.api.filters import ApiFilterSet, CharInFilter, TenantFilterSet, TenantIdFilter
from customers.models import Customer
from invoices.models import Invoice
from reminders.models import ReminderMessage, ReminderRule
from reminders.selectors import Pending

_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "exact": operator.eq,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "range": lambda value, bounds: bounds[0] <= value <= bounds[1],
}


class ReminderMessageFilter(TenantFilterSet):
    status__in = CharInFilter(field_name="status", lookup_expr="in")
    # "Was this customer reminded?", as the admin finds a customer's reminders.
    customer = TenantIdFilter(field_name="invoice__customer_id", model=Customer)

    class Meta:
        model = ReminderMessage
        fields = ["status", "rule", "invoice"]


class ReminderPendingFilter(ApiFilterSet):
    """What `/reminders/pendings/` takes. A pending is computed, not a row: `matches`
    compares each one, reading `field_name` as a path of attributes."""

    # An id outside the caller's tenant is a 404, as on every other list.
    rule = TenantIdFilter(field_name="rule__id", model=ReminderRule)
    invoice = TenantIdFilter(field_name="invoice__id", model=Invoice)
    customer = TenantIdFilter(field_name="invoice__customer_id", model=Customer)
    send_date__gte = django_filters.DateFilter(field_name="send_date", lookup_expr="gte")
    send_date__lte = django_filters.DateFilter(field_name="send_date", lookup_expr="lte")

    def check_ids(self) -> None:
        """404 for a rule, invoice or customer id the caller has not (`list` computes the
        pendings, so the filters' own queryset step never runs)."""
        for name, declared in self.filters.items():
            value = self.form.cleaned_data.get(name)
            if isinstance(declared, TenantIdFilter) and value not in (None, ""):
                declared.check_exists(value)

    def matches(self, pending: Pending) -> bool:
        for name, value in self.form.cleaned_data.items():
            if value in (None, "", [], ()):
                continue
            declared = self.filters[name]
            actual: Any = pending
            for part in declared.field_name.split("__"):
                actual = getattr(actual, part)
            if not _COMPARISONS[declared.lookup_expr](actual, value):
                return False
        return True
