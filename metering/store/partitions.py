"""Monthly partitions of `metering_event` (PostgreSQL).

The migration creates a DEFAULT partition and the months from PARTITIONS_FROM; a beat
task keeps the coming months created ahead of the events that will land in them. An
event for a month without its partition lands in the default partition (old backfills),
and a month whose rows already sit there is left to it, never failing ingestion.
"""

from datetime import date

from django.db import DatabaseError, connection, transaction

PARTITIONS_FROM = date(2024, 1, 1)
MONTHS_AHEAD = 3


def month_start(day: date, months: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def partition_sql(month: date) -> str:
    name = f"metering_event_{month:%Y_%m}"
    return (
        f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF metering_event "
        f"FOR VALUES FROM ('{month.isoformat()}T00:00:00+00:00') "
        f"TO ('{month_start(month, 1).isoformat()}T00:00:00+00:00')"
    )


def partitions_ensure(*, today: date, months_ahead: int = MONTHS_AHEAD) -> list[str]:
    """Create this month's and the next months' partitions if missing; their names."""
    created = []
    with connection.cursor() as cursor:
        for offset in range(months_ahead + 1):
            month = month_start(today, offset)
            name = f"metering_event_{month:%Y_%m}"
            cursor.execute("SELECT to_regclass(%s)", [name])
            if cursor.fetchone()[0] is not None:
                continue
            try:
                with transaction.atomic():
                    cursor.execute(partition_sql(month))
            except DatabaseError:  # rows for that month already in the default partition
                continue
            created.append(name)
    return created
