"""Chile's additional taxes (impuestos adicionales, rules.md §8): the SII's codes and rates,
read from billing/data/cl_additional_taxes.csv. A line names one by its code; the rate is
copied onto the line when it is written, so a later change of the table changes no
document. Their amounts are totalled apart from IVA, per code (billing.totals)."""

import csv
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

TABLE = Path(__file__).resolve().parent / "data" / "cl_additional_taxes.csv"


@dataclass(frozen=True)
class AdditionalTax:
    code: str
    percent: Decimal
    name: str


@cache
def additional_taxes() -> dict[str, AdditionalTax]:
    """The table by SII code."""
    with TABLE.open(encoding="utf-8") as table:
        rows = csv.DictReader(line for line in table if not line.startswith("#"))
        return {
            row["code"]: AdditionalTax(row["code"], Decimal(row["percent"]), row["name"])
            for row in rows
        }


def additional_tax(code: str) -> AdditionalTax | None:
    return additional_taxes().get(code)
