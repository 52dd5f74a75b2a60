#!/usr/bin/env python3
"""Generate reference fixtures from REAL torch (2.15, x86 AVX2 CPU build) + MMEngine 0.10.7.

Run:  /work/main/.venv/bin/python Tests/TorchInitTests/Fixtures/make_fixtures.py
Writes torch_ref.json (manifest) and torch_ref.bin (little-endian arrays) next to this script.
Every array in the manifest is {"off": byte offset into torch_ref.bin, "n": count, "t": "u32"|"u64"|"u16"}:
float32 values are stored as their u32 bit patterns, float64 as u64 bit patterns.
"""
import json, math, os, struct, sys, warnings
# torch computes erfinv_ and orthogonal_ with Intel MKL, whose code path depends on the CPU: pin the one the
# service reproduces (docs/spec.md "MKL"), before torch loads MKL.
os.environ.setdefault("MKL_ENABLE_INSTRUCTIONS", "SSE4_2")
import numpy as np
import torch
from mmengine.model.weight_init import trunc_normal_ as mm_trunc_normal_

warnings.simplefilter("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))
blob = bytearray()

def put(arr, t):
    global blob
    a = np.ascontiguousarray(arr)
    off = len(blob)
    if t == "u32": a = a.view(np.uint32)
    elif t == "u64": a = a.view(np.uint64)
    elif t == "u16": a = a.view(np.uint16)
    blob += a.astype(a.dtype.newbyteorder("<")).tobytes()
    return {"off": off, "n": int(a.size), "t": t}

def tensor_bits(t):
    a = t.detach().contiguous().numpy()
    if a.dtype == np.float32: return put(a, "u32")
    if a.dtype == np.float64: return put(a, "u64")
    raise ValueError(a.dtype)

def gen_state(g):
    s = g.get_state().numpy().tobytes()
    left = struct.unpack_from("<i", s, 8)[0]
    nxt = struct.unpack_from("<Q", s, 16)[0]
    words = np.frombuffer(s[24:24 + 624 * 8], dtype="<u8").astype(np.uint32)
    normal_y = struct.unpack_from("<d", s, 5016 + 8)[0]
    valid = struct.unpack_from("<i", s, 5016 + 24)[0]
    return {"left": left, "next": nxt, "words": put(words, "u32"),
            "spare": hx(normal_y) if valid else None}

def seed_u64(s): return s % (1 << 64)

def hx(v):
    """A Python float as the hex string of its IEEE double bits (JSON number parsing is not trusted to be exact)."""
    return "%016x" % struct.unpack("<Q", struct.pack("<d", float(v)))[0]

out = {"torch": torch.__version__, "capability": torch.backends.cpu.get_cpu_capability(), "scenarios": [],
       "init": [], "errors": [], "gains": [], "fans": []}

# ---- 1. op sequences on one generator: each op's output + final generator state ----
DT = {"f32": torch.float32, "f64": torch.float64}
def run(name, seed, ops):
    g = torch.Generator().manual_seed(seed)
    recs = []
    for op in ops:
        kind, dt, n = op[0], op[1], op[2]
        t = torch.empty(n, dtype=DT[dt])
        if kind == "uniform": t.uniform_(op[3], op[4], generator=g)
        elif kind == "normal": t.normal_(op[3], op[4], generator=g)
        else: raise ValueError(kind)
        recs.append({"kind": kind, "dtype": dt, "n": n, "p": [hx(op[3]), hx(op[4])], "out": tensor_bits(t)})
    out["scenarios"].append({"name": name, "seed": "%016x" % seed_u64(seed), "ops": recs, "state": gen_state(g)})

SIZES = [1, 2, 3, 5, 7, 15, 16, 17, 31, 32, 33, 100, 1000, 4099]
for seed in [0, 42, 2**32 + 7, -1]:
    for n in (SIZES if seed in (0, 2**32 + 7) else SIZES[:-1]):
        run(f"u32 s{seed} n{n}", seed, [("uniform", "f32", n, -0.37, 0.81), ("uniform", "f32", n, 0.0, 1.0)])
        run(f"n32 s{seed} n{n}", seed, [("normal", "f32", n, 0.1, 0.7), ("normal", "f32", n, 0.1, 0.7)])
        run(f"u64 s{seed} n{n}", seed, [("uniform", "f64", n, -0.37, 0.81)])
        run(f"n64 s{seed} n{n}", seed, [("normal", "f64", n, 0.1, 0.7), ("normal", "f64", n, -2.0, 3.0)])
run("n32 big", 3407, [("normal", "f32", 40000, 0.0, 1.0)])
run("n32 mean/std casts", 123456789, [("normal", "f32", 257, -1e-3, 1e-30), ("normal", "f32", 48, 1e6, 0.1),
                                      ("normal", "f32", 5, 1e6, 0.1)])
run("interleaved", 5, [("normal", "f32", 3, 0.0, 1.0), ("uniform", "f32", 20, -1.0, 1.0), ("normal", "f32", 5, 0.0, 1.0),
                       ("normal", "f32", 40, 0.0, 1.0), ("normal", "f32", 1, 0.0, 1.0), ("normal", "f64", 3, 0.0, 2.0),
                       ("normal", "f32", 1, 1.0, 1.0), ("uniform", "f64", 7, 0.0, 1.0), ("normal", "f64", 1, 0.0, 1.0),
                       ("normal", "f32", 15, 0.0, 1.0), ("normal", "f32", 16, 0.0, 1.0), ("normal", "f64", 15, 0.0, 1.0)])
run("clamp rule", 1, [("uniform", "f32", 64, 1.0, float(np.nextafter(np.float32(1.0), np.float32(2.0)))),
                      ("uniform", "f64", 64, 1.0, float(np.nextafter(1.0, 2.0)))])
run("raw block", 5489, [("uniform", "f32", 1, 0.0, 1.0)])
run("raw blocks", 77, [("uniform", "f32", 624 * 3 + 5, 0.0, 1.0)])

# ---- 2. nn.init functions: scalars, errors, outputs ----
I = torch.nn.init
for shape in [[20, 30], [30, 20], [8, 3, 3, 3], [4, 6, 5], [1, 1], [7, 0], [0, 5], [16, 4, 1, 1, 2]]:
    try: fi, fo = I._calculate_fan_in_and_fan_out(torch.empty(shape))
    except Exception as e: fi = fo = None
    out["fans"].append({"shape": shape, "fanIn": fi, "fanOut": fo})
for nl, p in [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None), ("leaky_relu", None),
              ("leaky_relu", math.sqrt(5)), ("leaky_relu", 0.2), ("leaky_relu", 0.0), ("leaky_relu", -3.5), ("selu", None),
              ("conv_transpose3d", None)]:
    out["gains"].append({"nl": nl, "param": None if p is None else hx(p), "gain": hx(I.calculate_gain(nl, p))})

def err(label, fn):
    try:
        fn(); out["errors"].append({"label": label, "type": None, "message": None})
    except Exception as e:
        out["errors"].append({"label": label, "type": type(e).__name__, "message": str(e)})
err("fans1d", lambda: I._calculate_fan_in_and_fan_out(torch.empty(5)))
err("fans0d", lambda: I._calculate_fan_in_and_fan_out(torch.empty(())))
err("gain_bad", lambda: I.calculate_gain("gelu"))
err("mode_bad", lambda: I.kaiming_uniform_(torch.empty(3, 4), mode="Fan_Avg"))
err("kaiming_1d", lambda: I.kaiming_uniform_(torch.empty(3)))
err("kaiming_nl_bad", lambda: I.kaiming_normal_(torch.empty(3, 4), nonlinearity="swish"))
err("kaiming_empty_1d", lambda: I.kaiming_uniform_(torch.empty(0)))
err("xavier_1d", lambda: I.xavier_uniform_(torch.empty(3)))
err("xavier_zero", lambda: I.xavier_normal_(torch.empty(0, 0)))
err("orth_1d", lambda: I.orthogonal_(torch.empty(4)))
err("mode_upper_ok", lambda: I.kaiming_uniform_(torch.empty(3, 4), mode="FAN_OUT"))

def init_case(name, seed, shape, fn, kind, args):
    g = torch.Generator().manual_seed(seed)
    t = torch.empty(shape)
    fn(t, g)
    rec = {"name": name, "seed": seed, "shape": shape, "kind": kind, "args": args, "out": tensor_bits(t),
           "state": gen_state(g)}
    out["init"].append(rec)

for shape in [[20, 30], [5, 3], [8, 3, 3, 3], [2, 2], [1, 1, 3]]:
    init_case(f"kaiming_uniform default {shape}", 13, shape,
              lambda t, g: I.kaiming_uniform_(t, a=math.sqrt(5), generator=g), "kaiming_uniform", [hx(math.sqrt(5)), "fan_in", "leaky_relu"])
    init_case(f"kaiming_normal fan_out relu {shape}", 14, shape,
              lambda t, g: I.kaiming_normal_(t, mode="fan_out", nonlinearity="relu", generator=g), "kaiming_normal", [hx(0.0), "fan_out", "relu"])
    init_case(f"xavier_uniform {shape}", 15, shape, lambda t, g: I.xavier_uniform_(t, gain=1.7, generator=g), "xavier_uniform", [hx(1.7)])
    init_case(f"xavier_normal {shape}", 16, shape, lambda t, g: I.xavier_normal_(t, gain=0.5, generator=g), "xavier_normal", [hx(0.5)])
    init_case(f"orthogonal {shape}", 17, shape, lambda t, g: I.orthogonal_(t, gain=1.5, generator=g), "orthogonal", [hx(1.5)])
init_case("orthogonal wide", 18, [6, 40], lambda t, g: I.orthogonal_(t, generator=g), "orthogonal", [hx(1.0)])
init_case("orthogonal tall", 19, [40, 6], lambda t, g: I.orthogonal_(t, generator=g), "orthogonal", [hx(1.0)])

# ---- 3. MMEngine trunc_normal_ (global generator: manual_seed) ----
trunc = []
for (mean, std, a, b) in [(0.0, 1.0, -2.0, 2.0), (0.0, 0.02, -2.0, 2.0), (0.0, 0.02, -0.04, 0.04), (0.5, 2.0, -1.0, 3.0),
                          (1.0, 0.1, 1.05, 1.5)]:
    for dt in ["f32", "f64"]:
        torch.manual_seed(21)
        t = torch.empty(3000, dtype=DT[dt])
        mm_trunc_normal_(t, mean=mean, std=std, a=a, b=b)
        trunc.append({"p": [hx(mean), hx(std), hx(a), hx(b)], "dtype": dt, "seed": 21, "out": tensor_bits(t),
                      "state": gen_state(torch.default_generator)})
out["trunc"] = trunc

# ---- 4. erfinv (MKL) on float32 / float64 ----
rng = np.random.default_rng(1)
ys = np.concatenate([np.linspace(-1, 1, 4001, dtype=np.float32),
                     rng.uniform(-1, 1, 12000).astype(np.float32),
                     (1 - np.float32(2.0) ** -np.arange(1, 25, dtype=np.float32)).astype(np.float32),
                     -(1 - np.float32(2.0) ** -np.arange(1, 25, dtype=np.float32)).astype(np.float32),
                     np.float32(2.0) ** -np.arange(1, 130, dtype=np.float32)]).astype(np.float32)
t = torch.from_numpy(ys.copy())
out["erfinv32"] = {"x": put(ys, "u32"), "y": tensor_bits(torch.erfinv(t))}
yd = np.concatenate([rng.uniform(-1, 1, 5000), 1 - 2.0 ** -np.arange(1, 53), 2.0 ** -np.arange(1, 1000, 7)])
out["erfinv64"] = {"x": put(yd, "u64"), "y": tensor_bits(torch.erfinv(torch.from_numpy(yd.copy())))}

# ---- 5. float16 / bfloat16 casts ----
def f32(b): return np.array([b], dtype=np.uint32).view(np.float32)[0]
special = [0x00000000, 0x80000000, 0x3F800000, 0xBF800000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7F800001,
           0x7FFFFFFF, 0xFFFFFFFF, 0x477FE000, 0x477FEFFF, 0x477FF000, 0x477FF001, 0x47800000, 0x7F7FFFFF,
           0x33800000, 0x33800001, 0x337FFFFF, 0x33000000, 0x33000001, 0x387FC000, 0x387FE000, 0x38800000,
           0x00000001, 0x00800000, 0x3F801000, 0x3F803000, 0x3F801001, 0x3F808000, 0x3F818000, 0x3F808001,
           0x3F807FFF, 0x7F7F8000, 0x7F7FFFFF, 0x7F7F7FFF, 0x00008000, 0x00018000, 0x80008000]
rnd = rng.integers(0, 2**32, 8000, dtype=np.uint64).astype(np.uint32)
near = (np.array([0x3F800000, 0x38800000, 0x33800000, 0x477FE000], dtype=np.uint32)[:, None]
        + np.arange(-600, 600, 37, dtype=np.int64)[None, :].astype(np.uint32)).ravel()
bits = np.concatenate([np.array(special, dtype=np.uint32), rnd, near]).astype(np.uint32)
tf = torch.from_numpy(bits.view(np.float32).copy())
out["cast32"] = {"x": put(bits, "u32"), "f16": put(tf.to(torch.float16).view(torch.int16).numpy(), "u16"),
                 "bf16": put(tf.to(torch.bfloat16).view(torch.int16).numpy(), "u16"),
                 "bf16_scalar": [int(torch.tensor(float(v)).to(torch.bfloat16).view(torch.int16).item()) & 0xFFFF
                                 for v in bits[:len(special)].view(np.float32)]}
dvals = np.concatenate([rng.normal(0, 1, 5000), 1 + 2.0**-11 + 2.0**-40 * np.arange(-3, 4), 1 + 2.0**-8 + 2.0**-40 * np.arange(-3, 4),
                        np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 65519.99, 65520.0, 1e300, -1e300, 1e-300, 3.4028235e38,
                                  3.4028236e38, 5.9604644775390625e-08, 2.98023223876953125e-08, 2.980232238769532e-08])])
td = torch.from_numpy(dvals.copy())
out["cast64"] = {"x": put(dvals, "u64"), "f16": put(td.to(torch.float16).view(torch.int16).numpy(), "u16"),
                 "bf16": put(td.to(torch.bfloat16).view(torch.int16).numpy(), "u16"),
                 "f32": tensor_bits(td.to(torch.float32))}

with open(os.path.join(HERE, "torch_ref.bin"), "wb") as f: f.write(blob)
with open(os.path.join(HERE, "torch_ref.json"), "w") as f: json.dump(out, f, indent=0)
print("bytes", len(blob), "scenarios", len(out["scenarios"]))
