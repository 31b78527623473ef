"""What lands in MLflow: lossless per-frame values kept in their JSON form; the spec and its
group on the campaign's runs."""
from __future__ import annotations

import pytest

from codecnb import jsonio
from codecnb.tracking import client, ensure_experiment
from codecnb.tracking import runs as R

LOSSLESS = '''import zlib
import numpy as np

def encode(frames, quality):
    return np.array(frames.shape, np.int32).tobytes() + zlib.compress(frames.tobytes())

def decode(data):
    shape = tuple(np.frombuffer(data[:16], np.int32))
    return np.frombuffer(zlib.decompress(data[16:]), np.uint8).reshape(shape)
'''


@pytest.mark.slow
def test_lossless_per_frame_values_are_kept_json_safe(tmp_path):
    from codecnb.evaluation import evaluate
    result = evaluate(LOSSLESS, "synthetic:pan?size=64x48&frames=2", qualities=[50],
                      baselines=())
    assert result.ok, result.failure
    c = client(f"sqlite:///{tmp_path}/mlflow.db")
    rid = c.create_run(ensure_experiment(c, "x")).info.run_id
    R.log_result(c, rid, result)
    run = c.get_run(rid)
    assert run.data.tags[R.NONFINITE] == "frame_psnr_y_q50"
    assert len(c.get_metric_history(rid, "frame_ssim_y_q50")) == 2    # finite ones as steps
    path = c.download_artifacts(rid, "per_frame_nonfinite.json", str(tmp_path))
    text = open(path).read()
    assert '"inf"' in text
    assert jsonio.loads(text) == {"frame_psnr_y_q50": [[0, float("inf")], [1, float("inf")]]}
