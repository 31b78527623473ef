"""codecnb: LLM-driven video-codec research.

Sources (:mod:`codecnb.sources`), trusted metrics (:mod:`codecnb.metrics`), baseline codecs
(:mod:`codecnb.baselines`) and RD measurement (:mod:`codecnb.rd`).
"""
__version__ = "0.1.0"
