"""The search machinery of the LLM generator, and the offline generator's sampler.

database   islands, migration, niches, power-law parent selection, inspirations
features   BD-rate, encode speed, size and coding tools of a program (the niches)
diff       SEARCH/REPLACE edits applied exactly to a parent
novelty    duplicate, same-behaviour and near-duplicate rejection before evaluation
bandit     UCB over models on improvement per dollar; what each model bought
tuning     tunable parameter blocks tuned by an Optuna study on a smoke evaluation
settings   every mechanism as a setting with a working default (docs/search.md)
"""
from codecnb.search.bandit import ModelStats, choose_model, format_model_table, model_stats
from codecnb.search.database import ProgramDatabase
from codecnb.search.diff import Block, apply_blocks, parse_blocks
from codecnb.search.novelty import NoveltyFilter, Rejection, code_hash, similarity
from codecnb.search.settings import SearchSettings
from codecnb.search.tuning import TuningResult, parse_tunables, set_tunables, tune

__all__ = ["Block", "ModelStats", "NoveltyFilter", "ProgramDatabase", "Rejection",
           "SearchSettings", "TuningResult", "apply_blocks", "choose_model", "code_hash",
           "format_model_table", "model_stats", "parse_blocks", "parse_tunables",
           "set_tunables", "similarity", "tune"]
