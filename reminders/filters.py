import operator
from collections.abc import Callable
from typing import Any

import django_filters

from billing.api.filters import ApiFilterSet
from reminders.selectors import Pending

_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "exact": operator.eq,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "range": lambda value, bounds: bounds[0] <= value <= bounds[1],
}


class ReminderPendingFilter(ApiFilterSet):
    """What `/reminders/pendings/` takes. A pending is computed, not a row: `matches`
    compares each one, reading `field_name` as a path of attributes."""

    rule = django_filters.CharFilter(field_name="rule__id")
    invoice = django_filters.CharFilter(field_name="invoice__id")
    customer = django_filters.CharFilter(field_name="invoice__customer_id")
    send_date__gte = django_filters.DateFilter(field_name="send_date", lookup_expr="gte")
    send_date__lte = django_filters.DateFilter(field_name="send_date", lookup_expr="lte")

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
