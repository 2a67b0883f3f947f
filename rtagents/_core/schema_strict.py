"""Strict JSON schemas, as the OpenAI Agents SDK makes them for ``strict_mode=True`` tools.

Theory of operation
-------------------
:func:`ensure_strict_json_schema` returns a copy of a schema rewritten the way the SDK's function
of that name rewrites it (the SDK's is adapted from the ``openai`` package): every object with
declared ``properties`` gets ``additionalProperties: false`` and lists all its properties as
``required`` (an optional parameter stays optional in Python — its default still applies when
the model leaves it out — but the model is asked to always send it); ``default: null`` is
dropped (a nullable type already says it); ``oneOf`` becomes ``anyOf``; a single-entry
``allOf`` is merged into its parent; a ``$ref`` with sibling keywords (a description, a default)
is replaced by the definition it points to, so that no ``$ref`` carries other keys.

One deliberate difference: an object that allows keys of its own choosing
(``dict[str, T]``, ``additionalProperties`` set to a schema or ``true``) is left as it is, where
the SDK refuses the tool.  The Realtime API has no strict mode to reject it, and the model can
still fill such a map.  The input is never modified.
"""

from __future__ import annotations

import copy
from typing import Any

from rtagents._core.schema_errors import ToolSchemaError

_EMPTY = {"additionalProperties": False, "type": "object", "properties": {}, "required": []}
_MAX_DEPTH = 100


def ensure_strict_json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A strict copy of `schema` (see the module docstring)."""
    if not isinstance(schema, dict):
        raise ToolSchemaError(f"a JSON schema must be an object, not {type(schema).__name__}")
    if schema == {}:
        return copy.deepcopy(_EMPTY)
    root = copy.deepcopy(schema)
    return _strict(root, root, 0)


def _strict(node: Any, root: dict[str, Any], depth: int) -> dict[str, Any]:
    if depth > _MAX_DEPTH:
        raise ToolSchemaError("the JSON schema is nested too deeply (or its $refs loop)")
    if not isinstance(node, dict):
        raise ToolSchemaError(f"expected a schema object, got {type(node).__name__}")
    for key in ("$defs", "definitions"):
        defs = node.get(key)
        if isinstance(defs, dict):
            for definition in defs.values():
                _strict(definition, root, depth + 1)
    kind = node.get("type")
    properties = node.get("properties")
    if kind is None and isinstance(properties, dict):
        kind = node["type"] = "object"
    is_object = kind == "object" or (isinstance(kind, list) and "object" in kind)
    if is_object and "additionalProperties" not in node and "allOf" not in node:
        node["additionalProperties"] = False
    if isinstance(properties, dict):
        node["required"] = list(properties)
        node["properties"] = {k: _strict(v, root, depth + 1) for k, v in properties.items()}
    items = node.get("items")
    if isinstance(items, dict):
        node["items"] = _strict(items, root, depth + 1)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and extra:
        node["additionalProperties"] = _strict(extra, root, depth + 1)
    variants = node.get("anyOf")
    if isinstance(variants, list):
        node["anyOf"] = [_strict(v, root, depth + 1) for v in variants]
    one_of = node.pop("oneOf", None)
    if isinstance(one_of, list):
        existing = node.get("anyOf")
        variants = existing if isinstance(existing, list) else []
        node["anyOf"] = [*variants, *(_strict(v, root, depth + 1) for v in one_of)]
    all_of = node.get("allOf")
    if isinstance(all_of, list):
        if len(all_of) == 1:
            entry = _plain_ref_target(all_of[0], root)
            entry = entry if entry is not None else _strict(all_of[0], root, depth + 1)
            del node["allOf"]
            merged = {**entry, **node}  # the parent's keywords win, as in the SDK
            node.clear()
            node.update(merged)
            return _strict(node, root, depth + 1)
        node["allOf"] = [_strict(v, root, depth + 1) for v in all_of]
    if "default" in node and node["default"] is None:
        del node["default"]
    ref = node.get("$ref")
    if isinstance(ref, str) and len(node) > 1:
        target = _resolve(root, ref)
        del node["$ref"]
        for key, value in target.items():  # the siblings win over the definition
            node.setdefault(key, copy.deepcopy(value))
        return _strict(node, root, depth + 1)
    return node


_ANNOTATIONS = {
    *("$anchor", "$comment", "$defs", "$schema", "contentEncoding", "contentMediaType"),
    *("contentSchema", "default", "definitions", "deprecated", "description", "examples"),
    *("readOnly", "title", "writeOnly"),
}


def _plain_ref_target(entry: Any, root: dict[str, Any]) -> dict[str, Any] | None:
    """What a ``$ref`` with only annotations beside it stands for (following a chain of such
    references, the nearer annotations winning), or ``None`` if `entry` is not one."""
    carried: dict[str, Any] = {}
    seen: set[str] = set()
    while isinstance(entry, dict) and isinstance(entry.get("$ref"), str):
        if set(entry) - {"$ref"} - _ANNOTATIONS or entry["$ref"] in seen:
            break
        seen.add(entry["$ref"])
        carried = {**{k: v for k, v in entry.items() if k != "$ref"}, **carried}
        entry = _resolve(root, entry["$ref"])
    if not seen:
        return None
    return {**copy.deepcopy(entry), **carried}


def _resolve(root: dict[str, Any], ref: str) -> dict[str, Any]:
    if not ref.startswith("#/"):
        raise ToolSchemaError(f"unsupported $ref {ref!r}: only local references (#/...) are")
    found: Any = root
    for raw in ref[2:].split("/"):
        key = raw.replace("~1", "/").replace("~0", "~")
        if not isinstance(found, dict) or key not in found:
            raise ToolSchemaError(f"$ref {ref!r} points to nothing")
        found = found[key]
    if not isinstance(found, dict):
        raise ToolSchemaError(f"$ref {ref!r} does not point to a schema")
    return found
