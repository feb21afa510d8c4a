"""Reading a 400's field errors by path, as services name them (`lines.0.discount`)."""

from typing import Any


def field_error(body: dict[str, Any], path: str) -> Any:
    """The errors at `path` in a nested 400 body, or None when it names no such field."""
    node: Any = body
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node
