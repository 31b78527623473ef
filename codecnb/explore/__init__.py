"""The interactive explorer of ``notebooks/explore.ipynb``: ipywidgets over MLflow runs
and the sandboxed evaluator (:mod:`~.explorer`), and what it shows (:mod:`~.views`)."""
from codecnb.explore.explorer import Explorer
from codecnb.explore.views import View, Window, evaluate_program, log_view, view_of_run

__all__ = ["Explorer", "View", "Window", "evaluate_program", "log_view", "view_of_run"]
