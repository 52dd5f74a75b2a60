"""Real models from torchvision, timm, transformers and MMPretrain: trace -> the real server -> the same state dict as
`torch.manual_seed(s); m = factory(); [m.init_weights()]` in process, bit for bit, in both formats."""
import json
import os
from collections import OrderedDict

import pytest

torch = pytest.importorskip("torch", reason="torch is not installed")

import real_models  # noqa: E402
from conftest import assert_same_state_dict  # noqa: E402
from weightinit_client import initialize, plan, trace  # noqa: E402

# Both formats and two seeds for the models the issue lists; one seed and the safetensors format for the others.
SEEDS = (0, 1234)
BF16 = {"torchvision": "tv_resnet18", "timm": "timm_convnext_atto", "transformers": "hf_gpt2",
        "mmpretrain": "mm_resnet18"}


def _is_base_module(m):
    from mmengine.model import BaseModule
    return isinstance(m, BaseModule)


def reference(name, seed, dtype=None):
    """In process, as a user would: the state dict and, for MMEngine models, the init-info MMEngine logged."""
    from mmengine.model import BaseModule
    captured = {}

    def dump(self):
        for n, p in self.named_parameters():
            captured[n] = self._params_init_info[p]["init_info"]

    original = BaseModule._dump_init_info
    BaseModule._dump_init_info = dump
    try:
        torch.manual_seed(seed)
        m = real_models.ALL[name]()
        if _is_base_module(m):
            m.init_weights()
    finally:
        BaseModule._dump_init_info = original
    if dtype is not None:
        m.to(dtype)
    return OrderedDict((k, v.detach().clone()) for k, v in m.state_dict().items()), captured


_TRACES = {}


def traced(name):
    if name not in _TRACES:
        _TRACES[name] = trace(real_models.ALL[name])["program"]
    return _TRACES[name]


def check(server, tmp_path, name, seed, fmt, dtype=None):
    program = traced(name)
    body = {"program": program, "seed": seed, "format": fmt}
    if dtype is not None:
        body["dtype"] = {torch.bfloat16: "bfloat16", torch.float16: "float16"}[dtype]
    want, want_info = reference(name, seed, dtype)
    path = tmp_path / f"{name}-{seed}.{'pth' if fmt == 'pytorch' else 'safetensors'}"
    got = initialize(server.url, body, str(path))
    assert_same_state_dict(got, want)
    assert [t["name"] for t in got.report["tensors"]] == list(want)
    if want_info:
        info = {t["name"]: t["init_info"] for t in got.report["tensors"] if t["kind"] == "parameter"}
        for k, s in want_info.items():
            assert info[k] == s, k
    if fmt == "pytorch":
        sd = torch.load(str(path), weights_only=True)
        assert list(sd) == list(want)
        # tied parameters share one storage, as torch.save writes them
        for e in program["state_dict"]:
            first = next(x for x in program["state_dict"] if x["storage"] == e["storage"])
            if first is not e:
                assert sd[e["name"]].untyped_storage().data_ptr() == sd[first["name"]].untyped_storage().data_ptr()
    path.unlink()


@pytest.mark.parametrize("name", list(real_models.LISTED))
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("fmt", ["safetensors", "pytorch"])
def test_listed_model_is_exact(server, tmp_path, name, seed, fmt):
    check(server, tmp_path, name, seed, fmt)


@pytest.mark.parametrize("name", list(real_models.UNLISTED))
def test_unlisted_model_is_exact(server, tmp_path, name):
    check(server, tmp_path, name, 7, "safetensors")


@pytest.mark.parametrize("library", list(BF16))
def test_bfloat16_per_library(server, tmp_path, library):
    check(server, tmp_path, BF16[library], 3, "safetensors", dtype=torch.bfloat16)


@pytest.mark.parametrize("name", list(real_models.REFUSED))
def test_refused_model_names_the_reason(name):
    from weightinit_client import UnsupportedModuleError
    factory, words = real_models.REFUSED[name]
    with pytest.raises(UnsupportedModuleError, match=words):
        trace(factory)


def test_program_is_plain_json_and_plan_matches(server):
    program = traced("hf_gpt2")
    text = json.dumps({"program": program, "seed": 0}, allow_nan=False)
    report = plan(server.url, json.loads(text))
    want, _ = reference("hf_gpt2", 0)
    assert [t["name"] for t in report["tensors"]] == list(want)
    assert [t["shape"] for t in report["tensors"]] == [list(v.shape) for v in want.values()]
    # tied: lm_head.weight and transformer.wte.weight are one storage
    entries = {e["name"]: e["storage"] for e in program["state_dict"]}
    assert entries["lm_head.weight"] == entries["transformer.wte.weight"]
    by = {t["name"]: t for t in report["tensors"]}
    assert by["lm_head.weight"]["initialized_by"], by["lm_head.weight"]
