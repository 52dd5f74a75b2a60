"""A reference interpreter of programs (docs/programs.md) on real torch CPU tensors.

It allocates every storage, so it is for checking traces of small models (tests, debugging), not a substitute for
the service: `replay(body["program"], seed)` should equal both in-process PyTorch and the service's output.
"""
import base64
from collections import OrderedDict
from typing import Any, Dict

import numpy as np
import torch

_DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16,
           "bfloat16": torch.bfloat16, "int64": torch.int64, "int32": torch.int32, "bool": torch.bool}
_NUMPY = {"float32": np.float32, "float64": np.float64, "float16": np.float16, "bfloat16": np.int16,
          "int64": np.int64, "int32": np.int32, "bool": np.uint8}


def _number(v):
    if isinstance(v, str):
        return float(v)  # "nan", "inf", "-inf"
    return v


def replay(program: Dict[str, Any], seed: int) -> "OrderedDict[str, torch.Tensor]":
    torch.manual_seed(seed)
    storages = [torch.zeros(s["numel"], dtype=_DTYPES[s["dtype"]]) for s in program["storages"]]
    dtypes = [s["dtype"] for s in program["storages"]]

    def window(w):
        if isinstance(w, int):
            return storages[w]
        return storages[w["storage"]].as_strided(w["shape"], w["stride"], w["offset"])

    def storage_of(w):
        return w if isinstance(w, int) else w["storage"]

    with torch.no_grad():
        for op in program["ops"]:
            name = op["op"]
            if name == "manual_seed":
                torch.manual_seed(op["seed"])
                continue
            if name.startswith("init_info"):
                continue
            out = window(op["out"])
            if name == "uniform_":
                out.uniform_(op["from"], op["to"])
            elif name == "normal_":
                out.normal_(op["mean"], op["std"])
            elif name == "trunc_normal_":
                torch.nn.init.trunc_normal_(out, op["mean"], op["std"], op["a"], op["b"])
            elif name == "fill_":
                out.fill_(_number(op["value"]))
            elif name == "literal":
                dt = dtypes[storage_of(op["out"])]
                raw = np.frombuffer(base64.b64decode(op["data"]), dtype=_NUMPY[dt]).copy()
                t = torch.from_numpy(raw)
                t = t.view(torch.bfloat16) if dt == "bfloat16" else t.to(torch.bool) if dt == "bool" else t
                out.copy_(t.view(out.shape))
            elif name == "copy_":
                out.copy_(window(op["src"]).clone())
            elif name in ("mul_", "div_"):
                getattr(out, name)(_number(op["other"]))
            elif name in ("add_", "sub_"):
                getattr(out, name)(_number(op["other"]), alpha=_number(op.get("alpha", 1)))
            elif name == "clamp_":
                out.clamp_(min=_number(op.get("min")), max=_number(op.get("max")))
            elif name == "erfinv_":
                out.erfinv_()
            else:
                raise ValueError(f"unknown op {name}")
    state = OrderedDict()
    for e in program["state_dict"]:
        state[e["name"]] = storages[e["storage"]].view(e["shape"])
    return state
