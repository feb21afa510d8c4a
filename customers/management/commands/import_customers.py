import csv
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from billing.clock import clock_now
from billing.errors import DomainError, InvalidInput
from billing.models import Workspace
from billing.progress import ProgressCommand
from customers.representations import CustomerSerializer
from customers.services import customer_create

# Columns holding a JSON object, as the API takes them.
JSON_COLUMNS = ("tax_settings", "metadata")


class Command(ProgressCommand):
    help = (
        "Create customers from a CSV file whose header names the API's customer fields "
        "(name, country, tax_id, email, reference, comuna, metadata as JSON, …). Each row "
        "is validated as POST /customers/ validates it and created by the same service; a "
        "refused row is reported with its line number and the others are still created. "
        "Give rows a `reference` to make a re-run safe: a reference already taken is "
        "refused, not duplicated."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("csv_file", type=Path, help="UTF-8 CSV with a header row")
        parser.add_argument("--workspace", required=True, help="the workspace (acc_…)")
        parser.add_argument("--test-mode", action="store_true", help="create test-mode customers")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = Workspace.objects.filter(pk=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace {options['workspace']}.")
        test_mode = options["test_mode"]
        try:
            # utf-8-sig: spreadsheets often save the byte-order mark.
            with options["csv_file"].open(newline="", encoding="utf-8-sig") as file:
                reader = csv.DictReader(file)
                # The reader's line number: a quoted cell may span lines.
                rows = [(reader.line_num, row) for row in reader]
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise CommandError(f"Cannot read {options['csv_file']}: {exc}") from exc
        now = clock_now(workspace=workspace, test_mode=test_mode)
        bar = self.progress(label="Importing", total=len(rows), unit="rows", options=options)
        created = 0
        refused: list[str] = []
        for line, row in rows:
            problem = _create(row, workspace=workspace, test_mode=test_mode, now=now)
            if problem:
                refused.append(f"line {line}: {problem}")
            else:
                created += 1
            bar.update(1)
        bar.close()
        for message in refused:
            self.stderr.write(message)
        self.stdout.write(
            f"Created {created} customer(s) of {len(rows)} row(s); {len(refused)} refused."
        )
        if refused:
            raise CommandError(f"{len(refused)} row(s) refused; fix them and import those again.")


def _create(
    row: dict[str | None, Any], *, workspace: Workspace, test_mode: bool, now: datetime
) -> str:
    """Create the row's customer; what was wrong with the row, or "" once created."""
    try:
        serializer = CustomerSerializer(data=_fields(row), context={"now": now})
        if not serializer.is_valid():
            return _errors(serializer.errors)
        customer_create(workspace=workspace, test_mode=test_mode, **serializer.validated_data)
    except InvalidInput as exc:
        return _errors(exc.errors)
    except DomainError as exc:
        return exc.detail
    return ""


def _fields(row: dict[str | None, Any]) -> dict[str, Any]:
    """The row as an API body: empty cells left out, JSON columns parsed. Cells beyond
    the header (the reader keys them None) are an error, not silently dropped."""
    if None in row:
        raise InvalidInput({"row": ["More cells than the header has columns."]})
    data: dict[str, Any] = {str(k).strip(): v for k, v in row.items() if v not in ("", None)}
    for column in JSON_COLUMNS:
        if column in data:
            try:
                data[column] = json.loads(data[column])
            except ValueError:
                raise InvalidInput({column: ["Not a JSON object."]}) from None
    return data


def _errors(errors: Any) -> str:
    if isinstance(errors, dict):
        return "; ".join(f"{field}: {_errors(messages)}" for field, messages in errors.items())
    if isinstance(errors, list):
        return " ".join(_errors(message) for message in errors)
    return str(errors)
