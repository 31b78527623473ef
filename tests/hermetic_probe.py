"""Run by tests/test_hermetic.py in a nested pytest whose caller's environment holds bogus
ANTHROPIC_*, MLFLOW_*, AWS_* and CODECNB_* values: what a careless test would do, each of
which would reach one of them if the environment leaked through."""
from __future__ import annotations

import os

from conftest import OWN, SCRUBBED, run_cli
from programs import GOOD


def test_nothing_of_the_caller_environment_is_used(tmp_path):
    leaked = [k for k in os.environ if k.startswith(SCRUBBED) and k not in OWN]
    assert leaked == [], leaked
    assert "bogus" not in os.environ["CODECNB_CACHE_DIR"]
    # the default generator is Claude when a key is set
    proc = run_cli("propose", cwd=tmp_path)
    assert proc.returncode == 0 and "generator: offline" in proc.stderr, proc.stderr
    # an evaluation writes the baseline cache into the cache folder
    (tmp_path / "good.py").write_text(GOOD)
    proc = run_cli("eval", str(tmp_path / "good.py"), "--source",
                   "synthetic:pan?size=64x48&frames=2", "--quality", "50", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    # the MLflow store and the S3 endpoint are the defaults
    from codecnb.cache.client import s3_client
    from codecnb.tracking import tracking_uri
    assert tracking_uri().startswith("sqlite:///")
    assert "127.0.0.1" not in s3_client().meta.endpoint_url
