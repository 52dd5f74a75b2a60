"""Trace models, initialize them through the real server, compare with in-process PyTorch + MMEngine."""
import json
import os
import subprocess
import sys
import warnings
from collections import OrderedDict

import pytest

torch = pytest.importorskip("torch", reason="torch is not installed")
import torch.nn as nn  # noqa: E402

import wi_models as M  # noqa: E402
from conftest import HERE, assert_same_state_dict, reference_state_dict  # noqa: E402
from weightinit_client import initialize, load_checkpoint, plan, trace  # noqa: E402

CASES = OrderedDict([
    ("resnet", (M.ResNetTiny, 0, False)),
    ("resnet_zero_init_residual", (lambda: M.ResNetTiny(zero_init_residual=True), 7, False)),
    ("transformer", (M.TinyTransformer, 1234, True)),
    ("nested", (M.NestedNet, 5, False)),
    ("lstm", (M.SeqModel, 2 ** 40 + 3, False)),
    ("plain_root", (M.PlainNet, -1, False)),
    ("norms", (M.MixedNorms, 11, False)),
    ("bare_leaf", (lambda: nn.Conv2d(3, 5, (3, 2), stride=(2, 1), dilation=2, groups=1, padding_mode="reflect"), 3, False)),
    ("torch_sequential_root", (lambda: nn.Sequential(nn.Linear(4, 8), nn.SiLU(), nn.Dropout(0.2), nn.Linear(8, 2)), 9, False)),
])


for _zoo in M.LEAF_ZOO:
    CASES[f"zoo_{_zoo}"] = (M.zoo_model(_zoo), 3, False)


def _params(names):
    return list(names)


def export(factory, seed, **kw):
    return trace(factory, seed=seed, **kw)


@pytest.mark.parametrize("name", _params(CASES))
def test_initialize_matches_pytorch(server, name, tmp_path):
    factory, seed, _ = CASES[name]
    spec = export(factory, seed)
    json.dumps(spec, allow_nan=False)  # plain JSON
    _, want, want_info = reference_state_dict(factory, seed)
    out = tmp_path / "out.safetensors"
    got = initialize(server.url, spec, str(out))
    assert out.exists() and got.path == str(out)
    assert got.seed == seed
    assert_same_state_dict(got, want)  # bit for bit: erfinv is MKL-exact
    # the embedded report: state_dict order, and MMEngine's init_info strings
    assert [t["name"] for t in got.report["tensors"]] == list(want)
    if want_info:
        info = {t["name"]: t["init_info"] for t in got.report["tensors"] if t["kind"] == "parameter"}
        for k, s in want_info.items():
            assert (info[k] or "").strip() == s.strip(), k


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_dtype_of_a_cast_model(server, dtype):
    name = {torch.float16: "float16", torch.bfloat16: "bfloat16", torch.float64: "float64"}[dtype]
    spec = trace(M.ResNetTiny, seed=4, dtype=name)
    _, want, _ = reference_state_dict(M.ResNetTiny, 4, dtype=dtype)
    assert_same_state_dict(initialize(server.url, spec), want)


def test_pytorch_format(server, tmp_path):
    spec = export(M.NestedNet, 21, format="pytorch")
    _, want, _ = reference_state_dict(M.NestedNet, 21)
    got = initialize(server.url, spec)  # to a temporary file, removed afterwards
    assert got.format == "pytorch" and got.path is None
    assert_same_state_dict(got, want)
    assert got.report["seed"] == 21
    path = tmp_path / "x.pth"
    initialize(server.url, spec, str(path))
    sd = torch.load(str(path), weights_only=True)
    assert isinstance(sd, OrderedDict) and list(sd) == list(want)


def test_generated_seed_is_reproducible(server):
    spec = export(M.SeqModel, None)
    assert "seed" not in spec
    got = initialize(server.url, spec)
    assert isinstance(got.seed, int)
    assert got.report["seed_source"] == "generated"
    _, want, _ = reference_state_dict(M.SeqModel, got.seed)
    assert_same_state_dict(got, want)


def test_plan_lists_the_state_dict(server):
    spec = export(M.TinyTransformer, 3)
    report = plan(server.url, spec)
    _, want, _ = reference_state_dict(M.TinyTransformer, 3)
    assert [t["name"] for t in report["tensors"]] == list(want)
    assert [t["shape"] for t in report["tensors"]] == [list(v.shape) for v in want.values()]
    assert report["seed"] == 3


def test_cli_export_and_init(server, tmp_path):
    env = dict(os.environ, PYTHONPATH=HERE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    spec_path = tmp_path / "spec.json"
    r = subprocess.run([sys.executable, "-m", "weightinit_client", "export", "wi_models:ResNetTiny", "--trace",
                        "--kwargs", '{"width": 4, "zero_init_residual": true}', "--seed", "17",
                        "-o", str(spec_path)], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    spec = json.loads(spec_path.read_text())
    assert spec["seed"] == 17 and spec["program"]["model"] == "ResNetTiny"
    r = subprocess.run([sys.executable, "-m", "weightinit_client", "export", "wi_models:ResNetTiny", "--seed", "17"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["program"]["model"] == "ResNetTiny"  # stdout is the body alone

    out = tmp_path / "out.safetensors"
    r = subprocess.run([sys.executable, "-m", "weightinit_client", "init", server.url, str(spec_path), "-o", str(out)],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    _, want, _ = reference_state_dict(lambda: M.ResNetTiny(width=4, zero_init_residual=True), 17)
    assert_same_state_dict(load_checkpoint(str(out)), want)
