"""Response bodies with broken Unicode, kept rather than refused.

X has sent records whose text ends in half an emoji: an unpaired surrogate escape (``"\\ud83d"``),
valid JSON that msgspec (the provider's decoder) refuses as not JSON. Bytes that are not UTF-8 are
the other form of it. Refusing the body would lose the whole listing after the retries (X sends
the same record every time), so such a body is decoded by Python's ``json``, and each broken
character is replaced with U+FFFD, the Unicode replacement character (what a UTF-8 decoder puts
for bytes it cannot read): the records stay writable as UTF-8 (JSON Lines, Parquet, XCom). The
objects that carried broken Unicode (records, ``includes`` objects, partial errors) are counted;
the listing operators put the count into the manifest and the XCom ``meta`` (``broken_unicode``).
"""

from __future__ import annotations

import json
import re
from typing import Any

#: what a broken character is replaced with
REPLACEMENT = "\ufffd"
#: a surrogate left in a decoded string: an unpaired escape, or a byte that was not UTF-8
_SURROGATE = re.compile("[\ud800-\udfff]")


def decode_repairing(content: bytes) -> tuple[Any, int] | None:
    """Decode a body that a strict decoder refused: ``(payload with broken characters replaced,
    objects that carried one)``, or ``None`` when the body is not JSON even so."""
    try:
        payload = json.loads(content.decode("utf-8", "surrogateescape"))
    except ValueError:  # json.JSONDecodeError (and UnicodeDecodeError, which surrogateescape prevents)
        return None
    if not isinstance(payload, dict):
        return repaired(payload)[0], 0
    count = 0
    out: dict[str, Any] = {}
    for key, value in payload.items():
        key = repaired(key)[0]
        if key in ("data", "errors") and isinstance(value, list):
            value, found = _repaired_objects(value)
        elif key == "includes" and isinstance(value, dict):
            found, kinds = 0, {}
            for kind, objects in value.items():
                fixed, more = _repaired_objects(objects) if isinstance(objects, list) else repaired(objects)
                kinds[repaired(kind)[0]] = fixed
                found += int(more)
            value = kinds
        else:
            value, broken = repaired(value)
            found = int(broken and key == "data")  # a single object (``data`` of a lookup)
        out[key] = value
        count += found
    return out, count


def _repaired_objects(objects: list[Any]) -> tuple[list[Any], int]:
    pairs = [repaired(item) for item in objects]
    return [item for item, _ in pairs], sum(broken for _, broken in pairs)


def repaired(value: Any) -> tuple[Any, bool]:
    """``value`` with every surrogate in its strings (keys too) replaced, and whether there was one."""
    if isinstance(value, str):
        fixed, n = _SURROGATE.subn(REPLACEMENT, value)
        return fixed, n > 0
    if isinstance(value, list):
        pairs = [repaired(item) for item in value]
        return [item for item, _ in pairs], any(broken for _, broken in pairs)
    if isinstance(value, dict):
        broken = False
        out: dict[str, Any] = {}
        for key, item in value.items():
            key, key_broken = repaired(key)
            out[key], item_broken = repaired(item)
            broken = broken or key_broken or item_broken
        return out, broken
    return value, False
