"""`"mkl"`: the tracer reports the MKL code path of its own torch, and the service computes erfinv_ as that path does
(MKL's SSE4.2, AVX2 and AVX-512 paths; orthogonal_, refused off the SSE4.2 path, is refused by the tracer anyway, and
the service's refusal is tested in Swift: MKLPathTests).

The test run pins the reference torch to MKL's SSE4.2 path (run-tests.sh: MKL_ENABLE_INSTRUCTIONS=SSE4_2); these
tests also run torch on the other paths, in a subprocess, as a user's training job on an Intel CPU would.
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
    """timm's trunc_normal_: uniform_, erfinv_, mul_, add_, clamp_ (MKL's vmsErfInv). 2^18 values: MKL's paths differ
    in about 1 in 4,000 (AVX2) and 1 in 140 (AVX-512) of them."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.empty(512, 512))
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


def _other_torch(setting, tmp_path, factory="test_mkl.ErfinvInit"):
    """A torch with MKL_ENABLE_INSTRUCTIONS=`setting` (None: unset, MKL picks by CPU), in a subprocess: its MKL path,
    the traced body and its own state dict of `factory` (an expression)."""
    env = {k: v for k, v in os.environ.items() if k != "MKL_ENABLE_INSTRUCTIONS"}
    if setting:
        env["MKL_ENABLE_INSTRUCTIONS"] = setting
    env["PYTHONPATH"] = HERE + os.pathsep + env.get("PYTHONPATH", "")
    out = tmp_path / f"{setting}.pt"
    script = ("import json, sys, functools, torch, test_mkl; "
              "from weightinit_client import mkl_path, trace; "
              f"factory = {factory}; "
              "torch.manual_seed(5); torch.save(factory().state_dict(), sys.argv[1]); "
              "print(json.dumps({'path': mkl_path(), 'body': trace(factory, seed=5)}))")
    r = subprocess.run([sys.executable, "-c", script, str(out)], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout.strip().splitlines()[-1])
    return result["path"], result["body"], torch.load(out)


@pytest.mark.parametrize("setting", ["AVX2", None])
def test_a_torch_on_another_path_gets_its_own_erfinv_values(server, tmp_path, setting):
    path, body, theirs = _other_torch(setting, tmp_path)
    # AVX2 on any Intel CPU with AVX2; unset: "avx512" or "avx2" on Intel CPUs, "sse4_2" on AMD ones.
    assert path in (("avx2",) if setting else ("sse4_2", "avx2", "avx512"))
    assert body.get("mkl", "sse4_2") == path
    assert_same_state_dict(initialize(server.url, body), theirs)
    if path != "sse4_2":
        # the pinned torch's values differ: the served ones follow the caller's path
        _, pinned, _ = reference_state_dict(ErfinvInit, 5)
        assert not torch.equal(pinned["w"], theirs["w"])
        # with the pinned path's "mkl" the service gives the pinned torch's values, not this one's
        served = initialize(server.url, dict(body, mkl="sse4_2"))
        assert torch.equal(served["w"], pinned["w"]) and not torch.equal(served["w"], theirs["w"])
    # A torch without MKL gets erfinv_ refused.
    with pytest.raises(WeightInitError) as e:
        initialize(server.url, dict(body, mkl="other"))
    assert e.value.status == 422
    assert "erfinv_" in e.value.detail and "MKL_ENABLE_INSTRUCTIONS=SSE4_2" in e.value.detail
    # The same program without MKL ops is served on every path.
    body = dict(body, mkl="avx512")  # (any path)
    body["program"] = trace(nn.Linear, 8, 4, seed=5)["program"]
    _, want, _ = reference_state_dict(lambda: nn.Linear(8, 4), 5)
    assert_same_state_dict(initialize(server.url, body), want)


def test_a_timm_vit_from_an_unpinned_torch_is_exact(server, tmp_path):
    """A real model whose trunc_normal_ inits run erfinv_, traced by torch as a training job on this CPU runs it."""
    pytest.importorskip("timm", reason="timm is not installed")
    path, body, theirs = _other_torch(None, tmp_path, "functools.partial(__import__('timm').create_model, "
                                                      "'vit_tiny_patch16_224', pretrained=False)")
    assert body.get("mkl", "sse4_2") == path
    assert_same_state_dict(initialize(server.url, body), theirs)
