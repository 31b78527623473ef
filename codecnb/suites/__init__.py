"""Clip suites: candidates scored on several clips and checked on held-out clips.

>>> from codecnb.suites import load_suite
>>> [(c.name, c.role) for c in load_suite("default").clips]
[('bigbuckbunny', 'train'), ('street', 'train'), ('park_joy', 'train'), ('bikes', 'heldout')]
"""
from codecnb.suites.loader import DEFAULT_SUITE, bundled_suites, load_suite, parse_suite
from codecnb.suites.suite import ROLES, Clip, Suite, default_clip_name

__all__ = ["DEFAULT_SUITE", "ROLES", "Clip", "Suite", "bundled_suites", "default_clip_name",
           "load_suite", "parse_suite"]
