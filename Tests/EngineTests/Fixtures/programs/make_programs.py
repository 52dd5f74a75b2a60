"""Program fixtures: each program is *executed by real torch* (CPU, torch 2.15) while it is recorded, so the
expected state dict is torch's, never ours. Run with the project venv:

    ~/.cache/weightinit/venv/bin/python Tests/EngineTests/Fixtures/programs/make_programs.py

Writes <name>.json = {"request": {"program", "seed"}, "expected": {dtype: {entry: hex bytes}}, "init_info": {...}}.
"""
import base64, json, math, os, struct
# torch computes erfinv_ and orthogonal_ with Intel MKL, whose code path depends on the CPU: pin the one the
# service reproduces (docs/spec.md "MKL"), before torch loads MKL.
os.environ.setdefault("MKL_ENABLE_INSTRUCTIONS", "SSE4_2")
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DT = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16, "bfloat16": torch.bfloat16,
      "int64": torch.int64, "int32": torch.int32, "bool": torch.bool}
NAME = {v: k for k, v in DT.items()}


def num(x):
    if isinstance(x, float) and math.isnan(x): return "nan"
    if x == math.inf: return "inf"
    if x == -math.inf: return "-inf"
    return x


class Recorder:
    def __init__(self, model, seed):
        torch.manual_seed(seed)
        self.seed, self.model = seed, model
        self.storages, self.tensors, self.ops, self.entries, self.sites = [], [], [], [], ["make_programs.py:1 in build"]
        self.info, self.means = {}, {}

    def storage(self, numel, dtype="float32"):
        self.storages.append({"numel": numel, "dtype": dtype})
        self.tensors.append(torch.zeros(numel, dtype=DT[dtype]))  # written before read (the service refuses reads of unwritten storages)
        return len(self.storages) - 1

    def w(self, s, offset=0, shape=None, stride=None):
        if shape is None:
            return (s, self.tensors[s])
        if stride is None:
            stride, acc = [], 1
            for d in reversed(shape): stride.insert(0, acc); acc *= d
        view = self.tensors[s].as_strided(shape, stride, offset)
        return ({"storage": s, "offset": offset, "shape": list(shape), "stride": list(stride)}, view)

    def op(self, name, out=None, **args):
        rec = {"op": name}
        if out is not None: rec["out"] = out[0]
        for k, v in args.items():
            rec[k] = v[0] if isinstance(v, tuple) else num(v)
        rec["site"] = 0
        rec["module"] = "m"
        self.ops.append(rec)
        t = out[1] if out is not None else None
        with torch.no_grad():
            if name == "manual_seed": torch.manual_seed(args["seed"])
            elif name == "uniform_": t.uniform_(args.get("from", 0.0), args.get("to", 1.0))
            elif name == "normal_": t.normal_(args.get("mean", 0.0), args.get("std", 1.0))
            elif name == "trunc_normal_": torch.nn.init.trunc_normal_(t, args["mean"], args["std"], args["a"], args["b"])
            elif name == "fill_": t.fill_(args["value"])
            elif name == "copy_": t.copy_(args["src"][1])
            elif name == "mul_": t.mul_(args["other"])
            elif name == "div_": t.div_(args["other"])
            elif name == "add_": t.add_(args["other"], alpha=args.get("alpha", 1))
            elif name == "sub_": t.sub_(args["other"], alpha=args.get("alpha", 1))
            elif name == "clamp_": t.clamp_(args.get("min"), args.get("max"))
            elif name == "erfinv_": t.erfinv_()
            else: raise ValueError(name)

    def literal(self, out, values):
        t = out[1]
        src = torch.tensor(values, dtype=t.dtype).reshape(t.shape)
        with torch.no_grad(): t.copy_(src)
        data = src.contiguous().view(torch.uint8).numpy().tobytes() if t.dtype != torch.bool else src.numpy().astype(np.uint8).tobytes()
        self.ops.append({"op": "literal", "out": out[0], "data": base64.b64encode(data).decode()})

    def info_op(self, kind, storages, text):
        self.ops.append({"op": kind, "storages": storages, "info": text})
        for s in storages:  # MMEngine: update only when param.data.mean() changed (mean compared as tensors)
            m = self.tensors[s].double().mean().item()
            if kind == "init_info_reset" or s not in self.means or not (m == self.means[s]):
                self.info[s] = text
                self.means[s] = m

    def entry(self, name, s, shape, kind="parameter"):
        self.entries.append({"name": name, "storage": s, "shape": list(shape), "kind": kind})

    def write(self, name, dtypes=("float32",)):
        program = {"version": 1, "model": self.model, "storages": self.storages, "state_dict": self.entries,
                   "modules": [{"path": "", "class": self.model, "bases": ["Module"], "init_weights": False,
                                "parameters": {e["name"]: i for i, e in enumerate(self.entries) if e["kind"] == "parameter"},
                                "buffers": {}}],
                   "sites": self.sites, "ops": self.ops}
        expected = {}
        for dt in dtypes:
            expected[dt] = {}
            for e in self.entries:
                t = self.tensors[e["storage"]].reshape(e["shape"])
                if t.dtype.is_floating_point: t = t.to(DT[dt])
                b = t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes() if t.dtype != torch.bool else t.numpy().astype(np.uint8).tobytes()
                expected[dt][e["name"]] = b.hex()
        info = {e["name"]: self.info.get(e["storage"]) for e in self.entries if e["kind"] == "parameter"}
        with open(os.path.join(HERE, name + ".json"), "w") as f:
            json.dump({"request": {"program": program, "seed": self.seed}, "expected": expected, "init_info": info}, f)
            f.write("\n")


EDGE32 = [float("nan"), float("inf"), -float("inf"), -0.0, 0.0, 1e-45, -1e-45, 1.1754942e-38, 3.4028235e38, -3.4028235e38,
          0.1, -0.1, 1.0, -1.0, 0.5, 65504.0, 65520.0, 6e-8, 1.0000001, 0.99999994, 2.5, -2.5, 1e-3, 3.0]


def fixture_ops():
    r = Recorder("OpsNet", 0)
    w = r.storage(192); tmp = r.storage(64); b = r.storage(10); e = r.storage(7)
    r.op("uniform_", r.w(w), **{"from": -0.3, "to": 0.3})
    r.op("normal_", r.w(w, 64, [2, 32]), mean=0.1, std=0.02)        # a window of 64 (fill path)
    r.op("normal_", r.w(e), mean=0.0, std=1.0)                      # 7 elements: per-element path, leaves a spare
    r.op("normal_", r.w(b, 2, [5]), mean=1.0, std=2.0)              # 5 more: takes the spare
    r.op("fill_", r.w(w, 3, [16], [12]), value=0.25)                # a strided column
    r.op("fill_", r.w(b, 0, [2]), value=-1.5)
    r.op("fill_", r.w(b, 7, [3]), value=float("nan"))
    r.op("normal_", r.w(tmp), mean=0.0, std=1.0)
    r.op("copy_", r.w(w, 128, [2, 32]), src=r.w(tmp, 0, [32]))      # broadcast a row into two rows
    r.op("mul_", r.w(tmp), other=0.02)                              # after the copy: must not leak into w
    r.op("mul_", r.w(w, 0, [12, 8], [16, 1]), other=3.0)            # a strided 2-d window
    r.op("div_", r.w(w), other=7.0)
    r.op("add_", r.w(w, 10, [50]), other=0.7)
    r.op("sub_", r.w(w, 100, [40]), other=0.3)
    r.op("add_", r.w(w), other=2.0, alpha=0.5)                      # exact product
    r.op("sub_", r.w(w, 0, [8]), other=0.75, alpha=0.5)
    r.op("clamp_", r.w(w, 0, [96]), min=-0.02, max=0.02)
    r.op("clamp_", r.w(w, 96, [96]), min=0.01)
    r.op("clamp_", r.w(b, 0, [10]), max=0.5)
    r.op("uniform_", r.w(e), **{"from": -1.0, "to": 1.0})
    r.op("erfinv_", r.w(e))
    r.op("copy_", r.w(e, 0, [3]), src=r.w(b, 7, [3]))              # NaN copied
    r.entry("w", w, [16, 12]); r.entry("b", b, [10]); r.entry("e", e, [7])
    r.write("ops", dtypes=("float32", "bfloat16", "float16", "float64"))


def fixture_edges():
    """Every scalar op on edge values, per storage dtype (the op applied to a literal)."""
    ops = [("mul_", {"other": 0.1}), ("mul_", {"other": -0.0}), ("mul_", {"other": 3.0}), ("div_", {"other": 3.0}),
           ("div_", {"other": 0.1}), ("div_", {"other": 0.0}), ("div_", {"other": -7.0}), ("add_", {"other": 0.1}),
           ("add_", {"other": -0.0}), ("sub_", {"other": 0.7}), ("add_", {"other": 1e-3, "alpha": -1}),
           ("add_", {"other": 2.0, "alpha": 0.25}), ("clamp_", {"min": -0.5, "max": 0.5}), ("clamp_", {"min": 0.6, "max": 0.2}),
           ("clamp_", {"min": 0.0}), ("clamp_", {"max": -0.0}), ("clamp_", {"min": float("nan")}), ("clamp_", {"min": -1.0, "max": 1.0})]
    for dt in ["float32", "float16", "bfloat16", "float64"]:
        r = Recorder("EdgeNet", 1)
        vals = EDGE32 if dt != "float64" else EDGE32 + [1e-320, 1.0 + 2**-52, 1e300]
        for i, (name, args) in enumerate(ops):
            if dt in ("float16", "bfloat16") and args.get("alpha") not in (None, 1, -1):
                continue  # refused: torch's fused/unfused alpha·other split is not reproduced for 16-bit tensors
            s = r.storage(len(vals), dt)
            r.literal(r.w(s), vals)
            r.op(name, r.w(s), **args)
            r.entry(f"{name}{i}", s, [len(vals)])
        if dt == "float32":
            s = r.storage(len(vals) + 3, dt)
            r.literal(r.w(s), [v if abs(v) <= 1 else 0.3 for v in vals] + [1.0, -1.0, 0.99999994])
            r.op("erfinv_", r.w(s))
            r.entry("erfinv", s, [len(vals) + 3])
        r.write("edges_" + dt, dtypes=(dt,))


def fixture_dead_draws_and_seed():
    r = Recorder("DeadNet", 5)
    a = r.storage(40); dead = r.storage(33); small = r.storage(3); c = r.storage(20); d = r.storage(18, "float64")
    r.op("normal_", r.w(dead), mean=0.0, std=1.0)                   # 33 draws + 16 tail, never read
    r.op("normal_", r.w(small), mean=0.0, std=1.0)                  # per-element: 3 values, a spare stays
    r.op("uniform_", r.w(a), **{"from": -1.0, "to": 1.0})
    r.op("normal_", r.w(dead, 0, [1]), mean=0.0, std=1.0)           # dead, takes the spare
    r.op("normal_", r.w(c, 0, [3]), mean=0.0, std=1.0)              # live small normal after a dead one
    r.op("manual_seed", seed=123)
    r.op("normal_", r.w(c, 3, [17]), mean=0.5, std=0.1)
    r.op("uniform_", r.w(d), **{"from": 0.0, "to": 2.0})            # float64: 2 draws per element
    r.op("normal_", r.w(dead), mean=0.0, std=1.0)
    r.op("manual_seed", seed=-7)
    r.op("normal_", r.w(d, 2, [16]), mean=0.0, std=3.0)
    r.entry("a", a, [40]); r.entry("small", small, [3]); r.entry("c", c, [4, 5]); r.entry("d", d, [18])
    r.write("dead_draws", dtypes=("float32", "float64"))


def fixture_tied_and_temporaries():
    r = Recorder("TiedNet", 2)
    emb = r.storage(48); tmp = r.storage(48); bias = r.storage(6); cnt = r.storage(1, "int64"); idx = r.storage(6, "int64")
    mask = r.storage(4, "bool")
    r.op("normal_", r.w(tmp), mean=0.0, std=1.0)                    # randn(...) * 0.02 into a new storage
    r.op("copy_", r.w(emb), src=r.w(tmp))
    r.op("mul_", r.w(emb), other=0.02)
    r.op("normal_", r.w(tmp), mean=5.0, std=1.0)                    # the temporary is reused afterwards: no leak
    r.op("fill_", r.w(emb, 0, [8]), value=0.0)                      # padding row
    r.op("fill_", r.w(bias), value=0.0)
    r.op("fill_", r.w(cnt), value=0)
    r.literal(r.w(idx), [5, 4, 3, 2, 1, -9007199254740991])
    r.literal(r.w(mask), [True, False, True, True])
    r.op("copy_", r.w(bias, 0, [3]), src=r.w(idx, 0, [3]))          # int64 → float32
    r.op("copy_", r.w(idx, 3, [3]), src=r.w(emb, 8, [3]))           # float32 → int64 (truncation)
    r.entry("wte.weight", emb, [6, 8]); r.entry("bias", bias, [6]); r.entry("lm_head.weight", emb, [6, 8])
    r.entry("bn.num_batches_tracked", cnt, [], "buffer"); r.entry("idx", idx, [6], "buffer"); r.entry("mask", mask, [4], "buffer")
    r.info_op("init_info_reset", [emb, bias], "The value is the same before and after calling `init_weights` of TiedNet")
    r.write("tied", dtypes=("float32", "bfloat16"))


def fixture_trunc_normal():
    r = Recorder("TruncNet", 3)
    a = r.storage(256); b = r.storage(10); c = r.storage(64, "float16"); d = r.storage(40, "float64"); e = r.storage(100)
    r.op("trunc_normal_", r.w(a), mean=0.0, std=1.0, a=-2.0, b=2.0)       # redraws (p = 0.954)
    r.op("trunc_normal_", r.w(b), mean=0.0, std=1.0, a=-1.0, b=1.5)       # small: per-element path each round
    r.op("trunc_normal_", r.w(c), mean=0.0, std=1.0, a=-2.0, b=2.0)
    r.op("trunc_normal_", r.w(d), mean=0.5, std=0.5, a=0.0, b=1.0)
    r.op("trunc_normal_", r.w(e), mean=0.0, std=0.02, a=-2.0, b=2.0)      # 100σ: exactly one normal_
    r.op("trunc_normal_", r.w(a, 0, [32]), mean=0.0, std=0.02, a=-0.04, b=0.04)
    r.entry("a", a, [16, 16]); r.entry("b", b, [10]); r.entry("c", c, [64]); r.entry("d", d, [40]); r.entry("e", e, [100])
    r.write("trunc_normal", dtypes=("float32", "float64"))


def fixture_chunked():
    """Whole fills followed by whole scalar ops and window constant fills: the chunked path."""
    r = Recorder("ChunkNet", 4)
    w = r.storage(1000); h = r.storage(777, "float16"); d = r.storage(333, "float64"); u = r.storage(500, "bfloat16")
    r.op("normal_", r.w(w), mean=0.0, std=1.0)
    r.op("mul_", r.w(w), other=0.02)
    r.op("fill_", r.w(w, 5, [10, 3], [30, 7]), value=1.0)
    r.op("add_", r.w(w), other=0.5)
    r.op("clamp_", r.w(w), min=-0.49, max=0.52)
    r.op("normal_", r.w(h), mean=0.0, std=1.0)
    r.op("mul_", r.w(h), other=0.1)
    r.op("sub_", r.w(h), other=0.3)
    r.op("uniform_", r.w(d), **{"from": -1.0, "to": 1.0})
    r.op("div_", r.w(d), other=3.0)
    r.op("fill_", r.w(d, 300, [33]), value=0.0)
    r.op("uniform_", r.w(u), **{"from": -0.1, "to": 0.1})
    r.op("add_", r.w(u), other=1.0)
    r.info_op("init_info_reset", [w, h, d, u], "init by program")
    r.op("fill_", r.w(u), value=3.0)
    r.info_op("init_info_update", [w, u], "fill_ changed it")
    r.entry("w", w, [40, 25]); r.entry("h", h, [777]); r.entry("d", d, [333]); r.entry("u", u, [500])
    r.write("chunked", dtypes=("float32", "float16", "bfloat16", "float64"))


if __name__ == "__main__":
    assert torch.__version__.startswith("2.15"), torch.__version__
    torch.set_num_threads(1)
    fixture_ops(); fixture_edges(); fixture_dead_draws_and_seed(); fixture_tied_and_temporaries()
    fixture_trunc_normal(); fixture_chunked()
    for f in sorted(os.listdir(HERE)):
        if f.endswith(".json"): print(f, os.path.getsize(os.path.join(HERE, f)))
