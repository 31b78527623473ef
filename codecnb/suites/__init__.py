"""Clip suites: candidates scored on several clips and checked on held-out clips."""
from codecnb.suites.suite import ROLES, Clip, Suite, default_clip_name

__all__ = ["ROLES", "Clip", "Suite", "default_clip_name"]
