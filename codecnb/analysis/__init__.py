"""Reading campaigns back out of MLflow and comparing their candidates.

:mod:`~codecnb.analysis.records` turns candidate runs into plain records;
:mod:`~codecnb.analysis.compare` computes what the comparison notebook, the report and
``codecnb status`` show: leaderboards, the search's progress, failures, cost, lineage and
conclusions; :mod:`~codecnb.analysis.tables` formats numbers and tables as text.

The records are imported on first use, so that the text tables (used by every command)
do not load MLflow.
"""
from __future__ import annotations

import importlib

__all__ = ["CandidateRecord", "load_candidates", "load_result", "open_records", "top_curves"]


def __getattr__(name: str):
    if name in __all__:
        return getattr(importlib.import_module("codecnb.analysis.records"), name)
    if name in ("compare", "records", "tables"):
        return importlib.import_module(f"codecnb.analysis.{name}")
    raise AttributeError(f"module 'codecnb.analysis' has no attribute {name!r}")
