from django.db import models


class CatalogStatus(models.TextChoices):
    """Products, plans, add-ons and coupons are archived instead of deleted once used."""

    ACTIVE = "active"
    ARCHIVED = "archived"


# (from, to) pairs a catalog object may move along.
CATALOG_TRANSITIONS = {
    (CatalogStatus.ACTIVE, CatalogStatus.ARCHIVED),
    (CatalogStatus.ARCHIVED, CatalogStatus.ACTIVE),
}


class PlanFrequency(models.TextChoices):
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    BIANNUAL = "biannual"
    ANNUAL = "annual"


class UsageScheme(models.TextChoices):
    LICENSED = "licensed"  # billed for the subscribed quantity
    METERED = "metered"  # billed for the usage reported during the period


class UsageAggregation(models.TextChoices):
    """How a metered plan turns the period's usage records into one quantity."""

    SUM = "sum"
    MAX = "max"
    LAST_RECORD = "last_record"


class TiersMode(models.TextChoices):
    RANGE = "range"  # graduated: each unit is priced by the tier it falls in
    UNIT = "unit"  # volume: every unit is priced by the tier the total reaches


# The names Piriod's newer clients and Stripe's send for the same two modes: accepted on
# input (bodies and filters), answered with ours.
TIERS_MODE_ALIASES = {"graduated": TiersMode.RANGE, "volume": TiersMode.UNIT}


class ApplyScheme(models.TextChoices):
    ONE_TIME = "one_time"
    RECURRING = "recurring"


class DiscountScheme(models.TextChoices):
    PERCENT = "%"
    AMOUNT = "$"


class ApplyOn(models.TextChoices):
    INVOICE = "invoice"
    LINE = "line"


class DurationScheme(models.TextChoices):
    ONE_TIME = "one_time"
    FOREVER = "forever"
    LIMITED = "limited"  # for `duration_times` billing cycles


# Input bounds, so that no value reaches the database it cannot store.
TIERS_PER_PLAN = 100
TIER_UP_TO_MAX = 2**53 - 1  # JavaScript clients read it exactly
PACKAGE_SIZE_MAX = 2**31 - 1
TRIAL_DAYS_MAX = 730  # two years, Stripe's limit
DURATION_TIMES_MAX = 2**31 - 1
