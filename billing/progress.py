"""Progress bars for management commands that work through many rows (billing cycles,
PDF renders, imports).

The bar is drawn on stderr only when stderr is a terminal: piped into a log or mailed by
cron, a bar's redraws would be noise. `--no-progress` turns it off on a terminal too.
What a command reports at the end goes to stdout either way.
"""

from typing import Any, TextIO, cast

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm


class ProgressCommand(BaseCommand):
    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-progress",
            action="store_true",
            help="do not draw a progress bar (none is drawn when stderr is not a terminal)",
        )

    def progress(self, *, label: str, total: int, unit: str, options: dict[str, Any]) -> tqdm:
        """A bar counting `unit`s up to `total` (which may grow as more work is found)."""
        # The raw stream: Django's OutputWrapper ends every write with a newline, which
        # would print each redraw of the bar on a line of its own.
        stream = cast(TextIO, self.stderr._out)
        shown = not options["no_progress"] and stream.isatty()
        return tqdm(
            desc=label,
            total=total,
            unit=unit,
            # "3/40 subscriptions": the count names what is counted.
            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} {unit} [{elapsed}<{remaining}]",
            file=stream,
            disable=not shown,
            dynamic_ncols=True,
            leave=True,
        )
