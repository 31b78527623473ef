"""JSON that stays valid: how codecnb writes non-finite floats.

A lossless reconstruction has PSNR ``math.inf``. JSON has no infinity, so codecnb writes
``inf`` as the string ``"inf"`` (and ``-inf`` as ``"-inf"``, NaN as ``null``); :func:`loads`
turns the strings back into floats. Standard JSON parsers can read every file codecnb writes.
"""
from __future__ import annotations

import json
import math
from typing import Any


def jsonable(obj: Any) -> Any:
    """Copy of ``obj`` with non-finite floats replaced and dataclasses/NumPy types converted."""
    if isinstance(obj, float) or (hasattr(obj, "dtype") and getattr(obj, "ndim", 1) == 0):
        value = float(obj) if not isinstance(obj, bool) else obj
        if isinstance(value, float) and not math.isfinite(value):
            return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
        return obj.item() if hasattr(obj, "item") else value
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "to_dict"):
        return jsonable(obj.to_dict())
    if hasattr(obj, "tolist"):
        return jsonable(obj.tolist())
    return obj


def dumps(obj: Any, **kw: Any) -> str:
    """Serialise ``obj`` as strict JSON (``allow_nan=False``) after :func:`jsonable`."""
    return json.dumps(jsonable(obj), allow_nan=False, **kw)


def _revive(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _revive(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_revive(v) for v in obj]
    if obj == "inf":
        return math.inf
    if obj == "-inf":
        return -math.inf
    return obj


def loads(text: str) -> Any:
    """Parse JSON written by :func:`dumps`, turning ``"inf"`` back into ``math.inf``."""
    return _revive(json.loads(text))
