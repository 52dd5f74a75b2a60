"""Generates the reader fixtures with real torch (run from this folder: ../../../.venv/bin/python make_fixtures.py).

Every `<name>.pth` / `.safetensors` fixture has `<name>.expected.safetensors`, written by the official safetensors
library: for each state-dict key K the tensor as torch loads it (contiguous copy, same dtype) under K, and, for
dtypes the Swift reader converts, `K@f32` = `t.to(torch.float32)`. Deterministic (fixed seed); torch 2.15.
"""
import collections, io, os, pickle, sys, zipfile
import numpy as np
import torch
from torch import nn
from safetensors.torch import save_file

torch.manual_seed(0)
HERE = os.path.dirname(os.path.abspath(__file__))
SUPPORTED = {torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.int64, torch.int32, torch.bool}


def expected(name, sd):
    out = {}
    for k, v in sd.items():
        if not isinstance(v, torch.Tensor):
            continue
        out[k] = v.detach().contiguous().clone()
        if v.dtype in SUPPORTED:
            out[k + "@f32"] = v.detach().to(torch.float32).contiguous().clone()
    save_file(out, os.path.join(HERE, name + ".expected.safetensors"))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 2)


def basic_state_dict():
    net = Net()
    with torch.no_grad():
        net.bn.running_mean.uniform_(-1, 1)
        net.bn.num_batches_tracked.fill_(7)
    sd = net.state_dict()
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 8 - 1
    sd["extra.half"] = (torch.randn(3, 5) * 3).to(torch.float16)
    sd["extra.bf16"] = (torch.randn(7) * 100).to(torch.bfloat16)
    sd["extra.double"] = torch.randn(2, 2, dtype=torch.float64)
    sd["extra.int32"] = torch.tensor([-5, 0, 2**31 - 1], dtype=torch.int32)
    sd["extra.int64"] = torch.tensor([-(2**40), 3, 2**62], dtype=torch.int64)
    sd["extra.mask"] = torch.tensor([True, False, True, True])
    sd["extra.empty"] = torch.zeros(0, 3)
    sd["extra.scalar"] = torch.tensor(3.5)
    sd["view.base"] = base
    sd["view.transposed"] = base.t()          # stride (1, 6), same storage
    sd["view.row"] = base[2]                   # storage offset 12
    sd["view.expanded"] = torch.tensor([1.0, 2.0]).reshape(2, 1).expand(2, 3)   # stride 0
    sd["naïve.ключ"] = torch.tensor([1.0, -1.0])
    return sd


def save(name, obj, **kw):
    torch.save(obj, os.path.join(HERE, name), **kw)


def main():
    sd = basic_state_dict()
    save("zip_basic.pth", sd)
    expected("zip_basic.pth", sd)
    save("legacy_basic.pth", sd, _use_new_zipfile_serialization=False)
    expected("legacy_basic.pth", sd)
    save("protocol4.pth", sd, pickle_protocol=4)
    expected("protocol4.pth", sd)

    # Tied weights: two keys, one storage.
    emb = nn.Embedding(5, 3)
    head = nn.Linear(3, 5, bias=False)
    head.weight = emb.weight
    tied = collections.OrderedDict([("embed.weight", emb.weight.data), ("head.weight", head.weight.data), ("other", torch.ones(2))])
    save("tied.pth", tied)
    expected("tied.pth", tied)

    # MMEngine-style Runner checkpoint: meta + state_dict (module.-prefixed, with _metadata) + objects
    # weights_only refuses (numpy scalars/arrays, a custom class), which the reader must keep inert.
    net = Net()
    msd = collections.OrderedDict(("module." + k, v) for k, v in net.state_dict().items())
    msd._metadata = net.state_dict()._metadata
    ckpt = {
        "meta": {"epoch": 3, "iter": 120, "cfg": "model = dict(type='Net')\n", "seed": 0, "mmengine_version": "0.10.7",
                 "dataset_meta": {"classes": ("a", "b"), "palette": [(1, 2, 3), (4, 5, 6)]}},
        "state_dict": msd,
        "message_hub": {"log_scalars": {"loss": HistoryBuffer(np.array([1.0, 0.5]))}, "runtime_info": {"eta": np.float64(12.5)}},
        "optimizer": {"state": {0: {"momentum_buffer": torch.ones(4, 3, 3, 3)}}, "param_groups": [{"lr": 0.1, "params": [0, 1]}]},
        "param_schedulers": [{"milestones": collections.Counter({8: 1, 11: 1})}],
    }
    save("mmengine_runner.pth", ckpt)
    expected("mmengine_runner.pth", msd)
    # publish_model.py style: legacy format, meta + state_dict only.
    save("mmengine_published_legacy.pth", {"meta": {"epoch": 12}, "state_dict": msd}, _use_new_zipfile_serialization=False)
    expected("mmengine_published_legacy.pth", msd)

    # Dtypes the Swift DType lacks (reported as other entries): uint8 (typed storage) and uint16 (_rebuild_tensor_v3).
    odd = collections.OrderedDict([("u8", torch.arange(4, dtype=torch.uint8)), ("u16", torch.tensor([1, 2, 3], dtype=torch.int32).to(torch.uint16)),
                                   ("f", torch.ones(2))])
    save("odd_dtypes.pth", odd)

    # safetensors written by the official library.
    st = collections.OrderedDict((k, v.contiguous().clone()) for k, v in sd.items() if not k.startswith("view.") or k == "view.base")
    save_file(st, os.path.join(HERE, "official.safetensors"), metadata={"format": "pt", "note": "fixture"})
    expected("official.safetensors", st)

    # nn.Parameter values (torch._utils._rebuild_parameter), as in dict(model.named_parameters()).
    params = collections.OrderedDict(Net().named_parameters())
    save("parameters.pth", params)
    expected("parameters.pth", params)

    # A whole pickled module (not a state dict).
    save("whole_module.pth", Net())

    # Hostile: a zip laid out like torch.save whose data.pkl calls os.system when unpickled.
    hostile_zip()


class HistoryBuffer:
    """Stands in for mmengine.logging.HistoryBuffer (a non-allowlisted class holding numpy arrays)."""
    def __init__(self, values):
        self._log_history = values


class Evil:
    def __reduce__(self):
        return (os.system, ("touch /tmp/checkpoints-hostile-fixture-ran",))


def hostile_zip():
    buf = io.BytesIO()
    pickle.Pickler(buf, protocol=2).dump({"w": Evil()})
    with zipfile.ZipFile(os.path.join(HERE, "hostile_os_system.pth"), "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", buf.getvalue())
        z.writestr("archive/version", "3\n")


main()
