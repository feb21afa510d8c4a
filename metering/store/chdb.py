"""chdb (ClickHouse in-process) as a `Client` of the ClickHouse event store: the same
SQL and server-side parameters, with no server. The tests run the store on it; a
developer can too."""

from datetime import datetime
from typing import Any

import orjson
from clickhouse_connect.driver.binding import format_bind_value

from metering.store.clickhouse import SCHEMAS, timestamp_text


def _parameter(value: Any) -> str:
    # As ClickHouse reads a parameter's text: strings raw, the rest as literals.
    if isinstance(value, str):
        return value
    return str(format_bind_value(value))


class ChdbClient:
    def __init__(self, path: str = "") -> None:
        from chdb import session

        self.session = session.Session(path) if path else session.Session()
        for schema in SCHEMAS:
            self.session.query(schema)

    def rows(self, sql: str, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
        # Decimals and 64-bit integers as strings: a JSON number would pass through a float.
        quoted = (
            " SETTINGS output_format_json_quote_decimals=1,"
            " output_format_json_quote_64bit_integers=1"
        )
        result = self.session.query(
            sql + quoted, "JSONCompact", params={k: _parameter(v) for k, v in parameters.items()}
        )
        data = result.data()
        return [tuple(row) for row in orjson.loads(data)["data"]] if data else []

    def insert(self, table: str, rows: list[list[Any]], columns: list[str]) -> None:
        lines = [
            orjson.dumps(
                {c: timestamp_text(v) if isinstance(v, datetime) else v
                 for c, v in zip(columns, row, strict=True)}
            ).decode()
            for row in rows
        ]  # fmt: skip
        self.session.query(f"INSERT INTO {table} FORMAT JSONEachRow\n" + "\n".join(lines))

    def command(self, sql: str, parameters: dict[str, Any]) -> None:
        self.session.query(sql, params={k: _parameter(v) for k, v in parameters.items()})

    def close(self) -> None:
        self.session.close()
