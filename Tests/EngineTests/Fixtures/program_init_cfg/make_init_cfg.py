"""Fixtures for `init_cfg` on a traced program (docs/programs.md, "init_cfg on a program").

For each model: trace the factory into a program (weightinit_client.trace), then, for several init_cfg objects and
seeds, compute what real torch + MMEngine give in process:

    torch.manual_seed(seed); m = factory(); [m.init_weights()]    # the traced part
    for path, cfg in init_cfg.items():                            # what the service applies after the traced ops
        mmengine.model.initialize(m.get_submodule(path), cfg)
    m.state_dict()

Each tensor's expected value is stored as the SHA-256 of its little-endian bytes (keeps the files small: the
ResNets are 11M parameters), with its dtype and shape; `init_info` is what MMEngine logged (the traced
`init_weights` dump; `initialize` outside `init_weights` logs nothing) or null.

    PYTHONPATH=clients/python/src ~/.cache/weightinit/venv/bin/python \
        Tests/EngineTests/Fixtures/program_init_cfg/make_init_cfg.py
"""
import hashlib
import json
import logging
import os
# torch computes erfinv_ and orthogonal_ with Intel MKL, whose code path depends on the CPU: pin the one the
# service reproduces (docs/spec.md "MKL"), before torch loads MKL.
os.environ.setdefault("MKL_ENABLE_INSTRUCTIONS", "SSE4_2")
import re
import sys

import torch
import torch.nn as nn
import mmengine
from mmengine.model import initialize

from weightinit_client import trace

HERE = os.path.dirname(os.path.abspath(__file__))


class MyLinear(nn.Linear):
    """A direct subclass: `layer='Linear'` matches it through its base."""


class MyMyLinear(MyLinear):
    """A grandchild class: `layer='Linear'` does not match it."""


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c)
        self.gn = nn.GroupNorm(2, c)


class SmallNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3)
        self.blocks = nn.Sequential(Block(4), Block(4))
        self.embed = nn.Embedding(10, 6)
        self.norm = nn.LayerNorm(6)
        self.proj = MyLinear(6, 5)
        self.proj2 = MyMyLinear(5, 5)
        self.head = nn.Linear(5, 3, bias=False)
        self.fc = nn.Linear(3, 2)


def small_net():
    return SmallNet()


def tv_resnet18():
    import torchvision
    return torchvision.models.resnet18()


def mmpretrain_resnet18():
    from mmpretrain.registry import MODELS
    import mmpretrain.models  # noqa: F401  (registers the backbones)
    return MODELS.build(dict(type="ResNet", depth=18, init_cfg=None))


def mmpretrain_resnet18_zero_residual():
    from mmpretrain.registry import MODELS
    import mmpretrain.models  # noqa: F401
    return MODELS.build(dict(type="ResNet", depth=18, init_cfg=None, zero_init_residual=True))


KAIMING_OVERRIDE_FC = {"": [{"type": "Kaiming", "layer": "Conv2d",
                             "override": {"name": "fc", "type": "Normal", "std": 0.01, "bias": 0.5}}]}
CONSTANT_BASE = {"": {"type": "Constant", "layer": ["_BatchNorm", "GroupNorm"], "val": 1, "bias": 0.25}}
TRUNC_NORMAL = {"": {"type": "TruncNormal", "layer": ["Linear", "Conv2d"], "std": 0.02, "a": -0.04, "b": 0.04}}
XAVIER_BIAS_PROB = {"": {"type": "Xavier", "layer": "Linear", "distribution": "uniform", "bias_prob": 0.01}}

MODELS = [
    # name, factory, trace kwargs (init_weights), cases: (name, seed, init_cfg)
    ("small_net", small_net, {}, [
        ("kaiming_override_fc", 0, KAIMING_OVERRIDE_FC),
        ("kaiming_override_name_only", 1, {"": {"type": "Kaiming", "layer": "Conv2d", "mode": "fan_in",
                                                "distribution": "uniform", "override": [{"name": "fc"}, {"name": "stem"}]}}),
        ("constant_base", 2, CONSTANT_BASE),
        ("constant_linear_base", 3, {"": {"type": "Constant", "layer": "Linear", "val": 2.5}}),
        ("constant_module_base", 4, {"": {"type": "Constant", "layer": "Module", "val": 0.5, "bias": 1}}),
        ("trunc_normal", 5, TRUNC_NORMAL),
        ("xavier_bias_prob", 6, XAVIER_BIAS_PROB),
        ("paths_in_order", 7, {"blocks.1": [{"type": "Normal", "layer": "Conv2d", "std": 0.3},
                                            {"type": "Constant", "layer": "BatchNorm2d", "val": 3}],
                               "fc": {"type": "Uniform", "layer": "Linear", "a": -2, "b": 2},
                               "": {"type": "Caffe2Xavier", "layer": ["Conv2d", "Linear"]},
                               "blocks.0.conv": {"type": "Normal", "layer": "Conv2d", "mean": 5}}),
        ("embedding_and_norm", 8, {"": [{"type": "Normal", "layer": ["Embedding", "LayerNorm"], "std": 0.1},
                                        {"type": "Xavier", "layer": "_ConvNd", "gain": 2}]}),
    ]),
    ("tv_resnet18", tv_resnet18, {}, [
        ("kaiming_override_fc", 0, KAIMING_OVERRIDE_FC),
        ("constant_base", 1, CONSTANT_BASE),
        ("xavier_bias_prob", 2, XAVIER_BIAS_PROB),
    ]),
    ("mmpretrain_resnet18", mmpretrain_resnet18, {"init_weights": False}, [
        ("kaiming_constant", 0, {"": [{"type": "Kaiming", "layer": ["Conv2d"]},
                                      {"type": "Constant", "val": 1, "layer": ["_BatchNorm", "GroupNorm"]}]}),
        ("trunc_normal_layer1", 3, {"layer1": {"type": "TruncNormal", "layer": "Conv2d", "std": 0.02}}),
    ]),
    ("mmpretrain_resnet18_init_weights", mmpretrain_resnet18_zero_residual, {}, [
        ("kaiming_conv", 4, {"": {"type": "Kaiming", "layer": "Conv2d", "override": {"name": "layer4", "type": "Constant", "val": 0}}}),
    ]),
]


def digest(t):
    t = t.detach().contiguous()
    return hashlib.sha256(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"").hexdigest()


class InfoDump(logging.Handler):
    """Collects MMEngine's init-info dump (`"\\n{name} - {shape}: \\n{info} \\n "` per parameter) from the logger."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.info = {}

    def emit(self, record):
        m = re.fullmatch(r"\n(.+) - torch\.Size\(.*\): \n(.*) \n ", record.getMessage(), re.S)
        if m:
            self.info[m.group(1)] = m.group(2)


def main():
    for name, factory, kwargs, cases in MODELS:
        body = trace(factory, **kwargs)
        program = body["program"]
        init_weights = kwargs.get("init_weights", isinstance(factory(), mmengine.model.BaseModule))
        out_cases = []
        for case, seed, cfg in cases:
            torch.manual_seed(seed)
            m = factory()
            info = None
            if init_weights:
                logger = mmengine.logging.MMLogger.get_current_instance()
                dump = InfoDump()
                logger.addHandler(dump)
                try:
                    m.init_weights()
                finally:
                    logger.removeHandler(dump)
                info = dump.info
                assert info, "no init-info dump captured"
            for path, c in cfg.items():
                initialize(m.get_submodule(path) if path else m, c)
            sd = m.state_dict()
            out_cases.append({"name": case, "seed": seed, "init_cfg": cfg, "init_info": info,
                              "expected": {k: {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape),
                                               "sha256": digest(v)} for k, v in sd.items()}})
        with open(os.path.join(HERE, name + ".json"), "w") as f:
            json.dump({"generator": "make_init_cfg.py", "torch": torch.__version__, "mmengine": mmengine.__version__,
                       "init_weights": init_weights, "program": program, "cases": out_cases}, f, separators=(",", ":"))
        print(name, len(program["ops"]), "ops", os.path.getsize(os.path.join(HERE, name + ".json")), "bytes")


if __name__ == "__main__":
    main()
