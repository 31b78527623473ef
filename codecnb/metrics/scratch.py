"""Per-thread work buffers reused across frames by the metric pass.

The metric pass works on horizontal strips of a frame so that its temporaries stay in the
core's cache. Allocating those temporaries for every strip would cost more than using them
(fresh pages fault in), so each thread keeps one buffer per name and dtype and grows it when a
larger frame comes. A buffer's contents are undefined when it is handed out.
"""
from __future__ import annotations

import math
import threading

import numpy as np

_local = threading.local()


def buffer(name: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """This thread's buffer ``name`` of ``dtype``, viewed as C-contiguous ``shape``.

    Parameters
    ----------
    name : str
        Identifies the buffer; two live temporaries need two names.
    shape : tuple of int
        Shape of the view handed out.
    dtype : numpy dtype
        Element type.

    Returns
    -------
    ndarray
        A contiguous view of at least ``prod(shape)`` elements of this thread's storage;
        it stays valid until the same thread asks for ``name`` with a larger shape.
    """
    try:
        views = _local.views
    except AttributeError:
        views = _local.views = {}
        _local.flats = {}
    key = (name, shape, dtype)
    view = views.get(key)
    if view is None:
        view = views[key] = _new_view(name, shape, dtype, views)
    return view


def _new_view(name: str, shape: tuple[int, ...], dtype: type, views: dict) -> np.ndarray:
    size = math.prod(shape)
    flat = _local.flats.get((name, dtype))
    if flat is None or flat.size < size:
        flat = _local.flats[name, dtype] = np.empty(size, dtype)
        for key in [k for k in views if k[0] == name and k[2] == dtype]:
            del views[key]  # views of the smaller storage: let it be freed
    return flat[:size].reshape(shape)
