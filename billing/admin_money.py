"""Money in the back office as a person reads it (`$284.970`, `US$1,888.74`), not as its
column stores it (`284970.000000`); quantities, rates and percents without the column's
padding (`3`, `19 %`).

A read-only decimal field of a change form or an inline is shown through a display of the
same label: money in its record's currency, the rest as plain numbers. Editable fields are
left as they are: an input must take what a person types.
"""

from collections.abc import Callable, Sequence
from decimal import Decimal
from types import MethodType
from typing import Any, cast

from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.db import models
from django.http import HttpRequest

from billing.choices import DiscountScheme
from billing.money import AMOUNT_DECIMAL_PLACES, AMOUNT_MAX_DIGITS
from billing.money_display import format_money

SHOWN = "_shown"
# A line's unit price may carry more decimals than its currency has.
UNIT_PRICES = {"amount"}


def _has(model: type[models.Model], name: str) -> bool:
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


def is_decimal(model: type[models.Model], name: str) -> bool:
    return _has(model, name) and isinstance(model._meta.get_field(name), models.DecimalField)


def is_money(model: type[models.Model], name: str) -> bool:
    """Stored as money (`billing.models.money_field`): 24 digits, 6 of them decimals."""
    if not is_decimal(model, name):
        return False
    field = cast(models.DecimalField, model._meta.get_field(name))
    return field.max_digits == AMOUNT_MAX_DIGITS and field.decimal_places == AMOUNT_DECIMAL_PLACES


def _plain(value: Decimal) -> str:
    """A quantity, a rate or a percent without the column's padding (`3`, not `3.000000`)."""
    return f"{value.normalize():f}"


def _display(name: str, label: str, *, money: bool, exact: bool) -> Callable[[Any, Any], str]:
    def shown(model_admin: "MoneyAdminMixin", obj: Any) -> str:
        value: Decimal | None = getattr(obj, name)
        if value is None:
            return "-"
        percent = name.endswith("_percent") or (
            name == model_admin.scheme_percent_field
            and getattr(obj, "discount_scheme", "") == DiscountScheme.PERCENT
        )
        if percent:
            return f"{_plain(value)} %"
        currency = model_admin.money_currency(obj) if money else None
        if currency is None:  # not money, or a blank inline row with no document yet
            return _plain(value)
        return format_money(value, currency, exact=exact)

    shown.short_description = label  # type: ignore[attr-defined]
    shown.admin_order_field = name  # type: ignore[attr-defined]
    return shown


def _swapped(name: Any, read_only: set[Any]) -> Any:
    """A fieldset's entry: a name, or a tuple of names shown on one line."""
    if isinstance(name, (tuple, list)):
        return tuple(_swapped(one, read_only) for one in name)
    return name + SHOWN if name + SHOWN in read_only else name


class MoneyAdminMixin:
    """For a ModelAdmin or an inline: its read-only decimals shown as people read them.

    Each decimal field `x` that is read-only (named in `readonly_fields`, or every field of
    a page the user may not change) is swapped for a display `x_shown` with `x`'s label.
    """

    model: type[models.Model]
    # The relation a row takes its currency from (None: its own `currency`); an inline
    # without a currency of its own finds its parent's by itself.
    currency_from: str | None = None
    # The field that is a percent when the row's `discount_scheme` says so (a document's
    # or a line's discount; a coupon's amount).
    scheme_percent_field = "discount"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        parent = getattr(self, "parent_model", None)
        if self.currency_from is None and parent is not None and not _has(self.model, "currency"):
            # An inline row with no currency of its own (a line, an allocation, a refund)
            # takes its document's or payment's.
            self.currency_from = next(
                f.name
                for f in self.model._meta.fields
                if f.is_relation and f.related_model is parent
            )
        for field in self.model._meta.get_fields():
            name = field.name
            if is_decimal(self.model, name) and not hasattr(self, name + SHOWN):
                label = str(getattr(field, "verbose_name", name)).capitalize()
                exact = self.currency_from is not None and name in UNIT_PRICES
                money = is_money(self.model, name)
                display = _display(name, label, money=money, exact=exact)
                setattr(self, name + SHOWN, MethodType(display, self))

    def money_currency(self, obj: Any) -> str | None:
        try:
            owner = getattr(obj, self.currency_from) if self.currency_from else obj
        except ObjectDoesNotExist:
            return None
        return getattr(owner, "currency_id", None)

    def _swap(self, names: Sequence[Any]) -> list[Any]:
        return [
            name + SHOWN if isinstance(name, str) and is_decimal(self.model, name) else name
            for name in names
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        names = list(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        if obj is not None and not self.has_change_permission(request, obj):  # type: ignore[attr-defined]
            # Every field of the page is read-only: the money ones are shown formatted.
            names += [
                f.name for f in self.model._meta.get_fields() if is_decimal(self.model, f.name)
            ]
        return self._swap(list(dict.fromkeys(names)))

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        read_only = set(self.get_readonly_fields(request, obj))
        swapped = []
        for title, options in super().get_fieldsets(request, obj):  # type: ignore[misc]
            fields = [_swapped(name, read_only) for name in options["fields"]]
            swapped.append((title, {**options, "fields": fields}))
        return swapped

    def get_queryset(self, request: HttpRequest) -> Any:
        queryset = super().get_queryset(request)  # type: ignore[misc]
        return queryset.select_related(self.currency_from) if self.currency_from else queryset
