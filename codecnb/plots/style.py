"""The look of every figure: colour-blind-safe colours, markers, PNG output.

Colours are the Okabe-Ito palette (distinguishable with the common colour-vision
deficiencies) and series also differ by marker or line style; images of errors use the
perceptually uniform ``cividis`` colour map. Figures are made without pyplot (no GUI
backend, no global state), titled, with units on the axes.

References
----------
.. [1] M. Okabe and K. Ito, "Color Universal Design (CUD): how to make figures and
       presentations that are friendly to colorblind people", 2002.
.. [2] J. R. Nuñez, C. R. Anderton and R. S. Renslow, "Optimizing colormaps with
       consideration for color vision deficiency to enable accurate interpretation of
       scientific data", PLOS ONE 13(7), 2018 (cividis).
"""
from __future__ import annotations

import io

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
             "#000000"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
ERROR_CMAP = "cividis"


def new_figure(*args, **kw):
    """A matplotlib ``Figure`` with constrained layout, not attached to pyplot."""
    from matplotlib.figure import Figure
    kw.setdefault("layout", "constrained")
    return Figure(*args, **kw)


def save_png(fig, path) -> str:
    """Write ``fig`` as a PNG file at 100 dpi; returns the path."""
    fig.savefig(path, format="png", dpi=100)
    return str(path)


def png_bytes(fig, dpi: int = 100) -> bytes:
    """``fig`` as PNG bytes (for ipywidgets.Image and inline display)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def describe(fig) -> str:
    """A text alternative for ``fig``: its title and its axes' titles and labels."""
    parts = [fig.get_suptitle()] if fig.get_suptitle() else []
    for ax in fig.axes:
        y, x = ax.get_ylabel(), ax.get_xlabel()
        parts += [t for t in (ax.get_title(), f"{y} against {x}" if y and x else y) if t]
    return "; ".join(dict.fromkeys(parts))


def show(fig) -> None:
    """Display ``fig`` as a PNG in a notebook's output (embedded in HTML renders), with
    :func:`describe` as its alternative text."""
    from IPython.display import Image, display
    display(Image(png_bytes(fig), alt=describe(fig)))
