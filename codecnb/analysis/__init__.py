"""Reading campaigns back out of MLflow and comparing their candidates.

:mod:`~codecnb.analysis.records` turns candidate runs into plain records;
:mod:`~codecnb.analysis.compare` computes what the comparison notebook, the report and
``codecnb status`` show: leaderboards, the search's progress, failures, cost, lineage and
conclusions.
"""
from codecnb.analysis.records import (CandidateRecord, load_candidates, load_result,
                                      open_records, top_curves)

__all__ = ["CandidateRecord", "load_candidates", "load_result", "open_records", "top_curves"]
