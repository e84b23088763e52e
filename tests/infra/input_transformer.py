"""How EventBridge applies a rule target's input transformer, modelled to test synthesized templates offline.

The rules, from the EventBridge user guide ("Amazon EventBridge input transformation", its table of examples
and "Common issues with transforming input") and the ``InputTransformer`` API reference:

1. ``InputPathsMap`` names up to 100 variables, each a JSON path into the event (dot notation, dashes,
   underscores, array indices). *A path that does not exist in the event creates no variable.*
2. ``<name>`` of a variable in the template is replaced by its value. Inside a JSON string literal the
   value goes in as text; as a bare JSON value, a string gets the quotes EventBridge adds ("quotes are
   optional for a variable holding a string") and anything else (number, boolean, null, object, array)
   goes in as JSON.
3. *EventBridge doesn't escape values extracted by Input Path*: a string's quotes, backslashes and control
   characters go in as they are (the guide's CloudWatch example delivers ``"instance "i-0123456789" is in
   RUNNING"``), so a string can end the literal it is in and write JSON of its own.
4. A variable the event did not define is replaced by nothing: a string template delivers the text around it
   (AWS's recorded answer in localstack's validated snapshot ``custom-variables-not-match-all``); as a bare
   value it leaves no value, and the body is not JSON.
5. A placeholder naming no variable is refused when the target is created (``PutTargets`` validation):
   :func:`apply` raises :class:`TemplateError` for it.

:func:`apply` returns the text EventBridge would send; :func:`apply_json` parses it and raises
:class:`InvalidBody` when the CRM would receive something that is not JSON.
"""

from __future__ import annotations

import json
import re
from typing import Any

_MISSING = object()
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_SEGMENT = re.compile(r"^([A-Za-z0-9_\-]+)((?:\[[0-9]+\])*)$")
_INDEX = re.compile(r"\[([0-9]+)\]")


class TemplateError(ValueError):
    """The transformer would be refused by EventBridge (an unknown placeholder or an unsupported path)."""


class InvalidBody(ValueError):
    """The transformed input is not JSON: the CRM would answer 400 and the event would be dead-lettered."""


def extract(event: Any, path: str) -> Any:
    """The value at JSON ``path`` (``$.detail.ids[0]``) in ``event``, or ``_MISSING``."""
    if path == "$":
        return event
    if not path.startswith("$."):
        raise TemplateError(f"unsupported JSON path {path!r}")
    value = event
    for segment in path[2:].split("."):
        match = _SEGMENT.match(segment)
        if match is None:
            raise TemplateError(f"unsupported JSON path {path!r}")
        if not isinstance(value, dict) or match.group(1) not in value:
            return _MISSING
        value = value[match.group(1)]
        for index in _INDEX.findall(match.group(2)):
            if not isinstance(value, list) or int(index) >= len(value):
                return _MISSING
            value = value[int(index)]
    return value


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def apply(transformer: dict[str, Any], event: dict[str, Any]) -> str:
    """The input EventBridge sends for ``event`` through ``transformer`` (``InputPathsMap`` + ``InputTemplate``)."""
    paths: dict[str, str] = transformer.get("InputPathsMap", {})
    template: str = transformer["InputTemplate"]
    values = {name: extract(event, path) for name, path in paths.items()}
    out: list[str] = []
    in_string = False
    escaped = False
    i = 0
    while i < len(template):
        char = template[i]
        if char == "<":
            match = _PLACEHOLDER.match(template, i)
            if match is not None:
                name = match.group(1)
                if name not in values:
                    raise TemplateError(f"InputTemplate contains invalid placeholder {name}")
                value = values[name]
                if value is _MISSING:
                    replacement = ""
                elif in_string:
                    replacement = _as_text(value)  # unescaped: may close the literal
                elif isinstance(value, str):
                    replacement = f'"{value}"'  # quotes added, content unescaped
                else:
                    replacement = _as_text(value)
                out.append(replacement)
                i = match.end()
                escaped = False
                continue
        out.append(char)
        if in_string and char == "\\" and not escaped:
            escaped = True
        else:
            if char == '"' and not escaped:
                in_string = not in_string
            escaped = False
        i += 1
    return "".join(out)


def apply_json(transformer: dict[str, Any], event: dict[str, Any]) -> Any:
    """:func:`apply`, parsed; raises :class:`InvalidBody` when the result is not JSON."""
    text = apply(transformer, event)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidBody(f"{error}: {text}") from None
