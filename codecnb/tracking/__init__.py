"""MLflow tracking: the store (:mod:`~codecnb.tracking.store`) and the campaign layout
(:mod:`~codecnb.tracking.runs`)."""
from codecnb.tracking.store import (client, ensure_experiment, open_experiment, retry_locked,
                                   tracking_uri)

__all__ = ["client", "ensure_experiment", "open_experiment", "retry_locked", "tracking_uri"]
