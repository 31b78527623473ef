"""Evaluating candidate programs: sandboxed runs, RD results and failure reports."""
from codecnb.evaluation.evaluator import EVALUATOR_VERSION, evaluate
from codecnb.evaluation.result import EvaluationResult

__all__ = ["EVALUATOR_VERSION", "EvaluationResult", "evaluate"]
