"""`"mkl"`: the tracer reports the MKL code path of its own torch, and the service refuses erfinv_ off the SSE4.2 path.

The test run pins the reference torch to MKL's SSE4.2 path (run-tests.sh: MKL_ENABLE_INSTRUCTIONS=SSE4_2), the path
the service reproduces; these tests also run torch without it, in a subprocess, as a user's training job would.
"""
import json
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch", reason="torch is not installed")
import torch.nn as nn  # noqa: E402

from conftest import assert_same_state_dict, reference_state_dict  # noqa: E402
from weightinit_client import WeightInitError, initialize, mkl_path, trace  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


class ErfinvInit(nn.Module):
    """timm's trunc_normal_: uniform_, erfinv_, mul_, add_, clamp_ (MKL's vmsErfInv)."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.empty(64, 96))
        with torch.no_grad():
            self.w.uniform_(-0.9545, 0.9545).erfinv_().mul_(0.02 * 2 ** 0.5).clamp_(-2, 2)
        self.b = nn.Parameter(torch.zeros(64))


def test_the_pinned_reference_takes_the_sse4_2_path(server):
    assert os.environ.get("MKL_ENABLE_INSTRUCTIONS") == "SSE4_2", "run-tests.sh pins the reference torch"
    assert mkl_path() == "sse4_2"
    body = trace(ErfinvInit, seed=5)
    assert "mkl" not in body
    _, want, _ = reference_state_dict(ErfinvInit, 5)
    assert_same_state_dict(initialize(server.url, body), want)


def test_an_unpinned_torch_reports_its_path_and_intel_paths_are_refused(server):
    env = {k: v for k, v in os.environ.items() if k != "MKL_ENABLE_INSTRUCTIONS"}
    env["PYTHONPATH"] = HERE + os.pathsep + env.get("PYTHONPATH", "")
    script = ("import json, test_mkl; from weightinit_client import mkl_path, trace; "
              "print(json.dumps({'path': mkl_path(), 'body': trace(test_mkl.ErfinvInit, seed=5)}))")
    r = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    # MKL takes "avx2" or "avx512" on Intel CPUs, "sse4_2" on AMD ones (which needs no field).
    assert out["path"] in ("sse4_2", "avx2", "avx512")
    assert out["body"].get("mkl", "sse4_2") == out["path"]
    if out["path"] == "sse4_2":
        _, want, _ = reference_state_dict(ErfinvInit, 5)
        assert_same_state_dict(initialize(server.url, out["body"]), want)
    else:
        with pytest.raises(WeightInitError) as e:
            initialize(server.url, out["body"])
        assert e.value.status == 422
        assert "erfinv_" in e.value.detail and "MKL_ENABLE_INSTRUCTIONS=SSE4_2" in e.value.detail
    # The same program without erfinv_ is served on every path.
    body = dict(out["body"], mkl="avx512")  # (any path)
    body["program"] = trace(nn.Linear, 8, 4, seed=5)["program"]
    _, want, _ = reference_state_dict(lambda: nn.Linear(8, 4), 5)
    assert_same_state_dict(initialize(server.url, body), want)
