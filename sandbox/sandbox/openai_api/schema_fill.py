"""Fill a JSON schema (structured outputs, strict mode) with what the fake read.

Property names are matched to the reading by meaning (monto/amount/total, destinatario/
recipient/payee, …); anything the reading lacks gets the simplest value of the right type, so the
output always validates against the schema it was asked for.
"""

from __future__ import annotations

from typing import Any

SYNONYMS: dict[str, tuple[str, ...]] = {
    "amount": ("monto", "amount", "total", "value"),
    "recipient": ("destinatario", "recipient", "payee", "to", "merchant"),
    "currency": ("currency", "moneda", "asset_code", "assetcode"),
    "intent": ("intent", "intencion"),
    "language": ("language", "lang", "idioma"),
    "response": ("response", "reply", "respuesta", "message"),
    "is_receipt": ("is_receipt", "receipt"),
}


def _lookup(name: str, reading: dict[str, Any]) -> tuple[bool, Any]:
    low = name.lower()
    if low in reading:
        return True, reading[low]
    for canonical, names in SYNONYMS.items():
        if low in names and canonical in reading:
            return True, reading[canonical]
    return False, None


def fill(schema: dict[str, Any], reading: dict[str, Any]) -> Any:
    return _fill(schema, reading, schema.get("$defs", {}), None, False)


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return dict(defs.get(ref.split("/")[-1], {}))
    return schema


def _fill(
    schema: dict[str, Any], reading: dict[str, Any], defs: dict[str, Any], value: Any, known: bool
) -> Any:
    schema = _resolve(schema, defs)
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        if (
            known
            and value is None
            and any(_resolve(o, defs).get("type") == "null" for o in options)
        ):
            return None
        typed = [o for o in options if _resolve(o, defs).get("type") != "null"]
        for option in typed:
            if _fits(_resolve(option, defs), value):
                return _fill(option, reading, defs, value, known)
        return _fill(typed[0] if typed else options[0], reading, defs, value, known)
    kind = schema.get("type")
    if isinstance(kind, list):  # ["string", "null"]
        if known and value is None and "null" in kind:
            return None
        kind = next((k for k in kind if k != "null"), "null")
    if "enum" in schema:
        return value if value in schema["enum"] else schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    if kind == "object":
        out = {}
        for name, sub in schema.get("properties", {}).items():
            found, sub_value = _lookup(name, reading)
            out[name] = _fill(sub, reading if found else {}, defs, sub_value, found)
        return out
    if kind == "array":
        items = schema.get("items", {})
        values = value if known and isinstance(value, list) else []
        return [_fill(items, v if isinstance(v, dict) else {}, defs, v, True) for v in values]
    if kind == "string":
        return "" if value is None else str(value)
    if kind == "boolean":
        return bool(value)
    if kind == "integer":
        return _number(value, int)
    if kind == "number":
        return _number(value, float)
    return None


def _fits(schema: dict[str, Any], value: Any) -> bool:
    kind = schema.get("type")
    checks = {
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
    }
    return checks.get(str(kind), False) or ("enum" in schema and value in schema["enum"])


def _number(value: Any, cast: type[int] | type[float]) -> int | float:
    try:
        return cast(float(value)) if value is not None else cast(0)
    except (TypeError, ValueError):
        return cast(0)
