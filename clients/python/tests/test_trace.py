"""The tracer on hand-made models that reach each part of the vocabulary, and what it must refuse."""
import json
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch", reason="torch is not installed")
import torch.nn as nn  # noqa: E402
from mmengine.model import BaseModule  # noqa: E402

from conftest import HERE, assert_same_state_dict, reference_state_dict  # noqa: E402
from weightinit_client import (UnsupportedModuleError, initialize, load_checkpoint, replay, spec_from_module,  # noqa: E402
                               trace)


class Everything(nn.Module):
    """Construction-time defaults, an init loop, tied weights, a padding row, a drawn parameter scaled out of place,
    a temporary copied into a parameter, draws nobody keeps, torch.manual_seed inside, literals, eye_/dirac_,
    MMEngine-style trunc_normal_ (erfinv) and torch's trunc_normal_, a float64 and an int buffer."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(20, 8, padding_idx=3)
        self.lin = nn.Linear(8, 6)
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.head = nn.Linear(8, 20, bias=False)
        self.head.weight = self.emb.weight
        self.pos = nn.Parameter(torch.randn(1, 5, 8) * 0.02)
        tmp = torch.empty(6, 8).uniform_(-1, 1)
        torch.randn(100)  # drawn and dropped: still advances the generator
        self.scale = nn.Parameter(torch.ones(6) * 1e-5)
        self.register_buffer("index", torch.arange(12).view(3, 4))
        self.register_buffer("table", torch.linspace(0, 1, 7, dtype=torch.float64))
        self.eye = nn.Parameter(torch.empty(4, 4))
        nn.init.eye_(self.eye)
        self.dirac = nn.Parameter(torch.empty(2, 2, 3))
        nn.init.dirac_(self.dirac)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        with torch.no_grad():
            self.lin.weight.copy_(tmp)
            self.lin.bias[2:4].fill_(0.5)
            self.lin.weight[:, 0].mul_(2.0)
        torch.manual_seed(99)
        nn.init.trunc_normal_(self.conv.bias, std=0.02)
        from mmengine.model.weight_init import trunc_normal_
        trunc_normal_(self.pos, std=0.02)


class MMNet(BaseModule):
    def __init__(self):
        super().__init__(init_cfg=[dict(type="Kaiming", layer="Conv2d"), dict(type="Constant", val=1, layer="BatchNorm2d"),
                                   dict(type="Normal", std=0.01, layer="Linear", override=dict(name="fc", type="Xavier"))])
        self.conv = nn.Conv2d(3, 8, 3)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 4)
        self.proj = nn.Linear(4, 4)


@pytest.mark.parametrize("factory", [Everything, MMNet], ids=["everything", "mmengine"])
@pytest.mark.parametrize("seed", [0, 2 ** 40 + 5])
def test_replay_and_service_equal_pytorch(server, tmp_path, factory, seed):
    body = trace(factory, seed=seed)
    json.dumps(body, allow_nan=False)
    _, want, want_info = reference_state_dict(factory, seed)
    assert_same_state_dict(replay(body["program"], seed), want)
    for fmt in ("safetensors", "pytorch"):
        got = initialize(server.url, dict(body, format=fmt), str(tmp_path / f"out.{fmt}"))
        assert_same_state_dict(got, want)
    if factory is MMNet:
        info = {t["name"]: t["init_info"] for t in got.report["tensors"] if t["kind"] == "parameter"}
        assert info == want_info


# ---- refusals: never a silently different result ---------------------------------------------------------------

class Branch(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(4))
        if self.w.sum() > 0:  # a Python branch on a random value
            self.w.data.mul_(-1)


class UnknownOp(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(4).exp())


class OwnGenerator(nn.Module):
    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(1)
        self.w = nn.Parameter(torch.empty(4))
        nn.init.normal_(self.w, generator=g)


class Bernoulli(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.empty(4).bernoulli_(0.5))


class SetState(nn.Module):
    def __init__(self):
        super().__init__()
        torch.set_rng_state(torch.get_rng_state())
        self.w = nn.Parameter(torch.randn(4))


class Orthogonal(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.empty(4, 4))
        nn.init.orthogonal_(self.w)


class Uninitialized(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.empty(4))


class RandomTimesRandom(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(4) * torch.rand(4))


@pytest.mark.parametrize("factory, words, op", [
    (Branch, "Python branch on a tensor value", "aten._local_scalar_dense"),
    (UnknownOp, "exp on values that depend on random draws", None),
    (OwnGenerator, "torch.Generator of its own", None),
    (Bernoulli, "draws random numbers in a way programs cannot replay", "aten.bernoulli_"),
    (SetState, "set_rng_state", "torch.set_rng_state"),
    (Orthogonal, "orthogonal_", "torch.nn.init.orthogonal_"),
    (Uninitialized, "uninitialized memory", None),
    (RandomTimesRandom, "mul of two tensors", None),
], ids=lambda x: x.__name__ if isinstance(x, type) else None)
def test_refuses_what_it_cannot_reproduce(factory, words, op):
    with pytest.raises(UnsupportedModuleError) as e:
        trace(factory)
    assert words in str(e.value)
    if op is not None:
        assert e.value.op is not None and e.value.op.startswith(op), e.value.op
    if factory not in (Uninitialized, UnknownOp, RandomTimesRandom):
        assert e.value.site and "test_trace.py" in e.value.site, e.value.site
        assert e.value.path and factory.__name__ in e.value.path


def test_spec_from_module_refuses_a_built_module():
    with pytest.raises(UnsupportedModuleError, match="needs the factory"):
        spec_from_module(MMNet())
    assert spec_from_module(MMNet, seed=1)["program"]["model"] == "MMNet"


def test_cli_export_trace_and_init(server, tmp_path):
    env = dict(os.environ, PYTHONPATH=HERE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    body = tmp_path / "body.json"
    r = subprocess.run([sys.executable, "-m", "weightinit_client", "export", "test_trace:MMNet", "--trace",
                        "--seed", "17", "-o", str(body)], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert json.loads(body.read_text())["seed"] == 17
    out = tmp_path / "out.safetensors"
    r = subprocess.run([sys.executable, "-m", "weightinit_client", "init", server.url, str(body), "-o", str(out)],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    _, want, _ = reference_state_dict(MMNet, 17)
    assert_same_state_dict(load_checkpoint(str(out)), want)
    r = subprocess.run([sys.executable, "-m", "weightinit_client", "export", "test_trace:Branch", "--trace"],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "Python branch" in r.stderr


def test_tracing_a_7b_llama_takes_seconds_and_little_memory():
    code = ("import json, resource, time, transformers\n"
            "from weightinit_client import trace\n"
            "cfg = transformers.LlamaConfig(hidden_size=4096, num_hidden_layers=32, num_attention_heads=32,"
            " intermediate_size=11008, vocab_size=32000)\n"
            "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "t = time.time(); body = trace(transformers.LlamaForCausalLM, cfg, seed=0); dt = time.time() - t\n"
            "n = sum(s['numel'] for s in body['program']['storages'] if True)\n"
            "print(json.dumps({'seconds': dt, 'before': before, 'after': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,"
            " 'bytes': len(json.dumps(body)), 'params': sum(__import__('math').prod(e['shape']) for e in body['program']['state_dict'] if e['kind'] == 'parameter')}))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    m = json.loads(r.stdout.strip().splitlines()[-1])
    assert m["params"] > 6.7e9                       # the real 7B model: 27 GB of float32 if it were allocated
    assert m["seconds"] < 60, m
    assert m["after"] - m["before"] < 512 * 1024, m  # KiB: tracing adds less than 512 MB over `import transformers`
    assert m["bytes"] < 4 << 20, m                   # the program is a few hundred KB, like its plan


class DirectGenerator(nn.Module):
    def __init__(self):
        super().__init__()
        torch.default_generator.manual_seed(5)  # not torch.manual_seed: invisible to the ops the trace sees
        self.w = nn.Parameter(torch.randn(4))


def test_refuses_a_generator_changed_behind_its_back():
    torch.manual_seed(77)
    before = torch.get_rng_state()
    with pytest.raises(UnsupportedModuleError, match="global random generator"):
        trace(DirectGenerator)
    assert torch.equal(torch.get_rng_state(), before)  # the caller's generator is left as it was


def test_manual_seed_inside_the_factory_is_replayed(server):
    class Reseeds(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(3, 3)
            torch.manual_seed(2024)
            self.b = nn.Linear(3, 3)
    body = trace(Reseeds, seed=1)
    assert [op["seed"] for op in body["program"]["ops"] if op["op"] == "manual_seed"] == [2024]
    _, want, _ = reference_state_dict(Reseeds, 1)
    assert_same_state_dict(initialize(server.url, body), want)


class CopiesAParameter(nn.Module):
    """b copies a after a was drawn: a streams chunk by chunk first, b is evaluated whole from a's draws."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(64, 64)
        self.b = nn.Linear(64, 64)
        with torch.no_grad():
            self.b.weight.copy_(self.a.weight)
            self.b.weight[0].fill_(3.0)


def test_a_parameter_copied_from_another_is_exact(server):
    body = trace(CopiesAParameter, seed=11)
    _, want, _ = reference_state_dict(CopiesAParameter, 11)
    assert_same_state_dict(initialize(server.url, body), want)
