"""Checks a file written by the Swift writers with the real consumers (used by WriterTests when torch is available).

usage: verify_written.py {safetensors|torch} FILE SPEC.json
SPEC: {"entries": [{"name", "dtype", "shape", "index"}], "metadata": {...}, "extra": {"name": "text"}}
Values follow patternBytes() in TestSupport.swift. Prints OK or raises.
"""
import json, subprocess, sys, zipfile
import numpy as np
import torch

DT = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16, "float64": torch.float64,
      "int64": torch.int64, "int32": torch.int32, "bool": torch.bool}


def expected(e):
    i, shape, dt = e["index"], e["shape"], e["dtype"]
    n = int(np.prod(shape)) if shape else 1
    j = np.arange(n, dtype=np.int64)
    if dt in ("float32", "float64", "float16", "bfloat16"):
        v = torch.from_numpy(((j * 7 + i * 3) % 23) * 0.25 - 2.0).to(DT[dt])
    elif dt == "int64":
        v = torch.from_numpy(j * 1_000_000_007 - 5 - i)
    elif dt == "int32":
        v = torch.from_numpy((j * 65537 - 9 - i).astype(np.int32))
    else:
        v = torch.from_numpy((j + i) % 3 == 0)
    return v.reshape(shape)


def check_state_dict(sd, spec, what):
    names = [e["name"] for e in spec["entries"]]
    assert list(sd.keys()) == names, (what, list(sd.keys()), names)
    for e in spec["entries"]:
        t, x = sd[e["name"]], expected(e)
        assert t.dtype == DT[e["dtype"]], (what, e, t.dtype)
        assert list(t.shape) == e["shape"], (what, e, t.shape)
        assert torch.equal(t, x), (what, e["name"], t, x)
        assert t.is_contiguous()


def main():
    kind, path, spec_path = sys.argv[1:4]
    spec = json.load(open(spec_path))
    if kind == "safetensors":
        from safetensors import safe_open
        from safetensors.torch import load_file
        with safe_open(path, "pt") as f:
            assert (f.metadata() or {}) == spec.get("metadata", {}), (f.metadata(), spec.get("metadata"))
            for e in spec["entries"]:
                assert torch.equal(f.get_tensor(e["name"]), expected(e)), e
        sd = load_file(path)
        check_state_dict({e["name"]: sd[e["name"]] for e in spec["entries"]}, spec, "load_file")
        assert len(sd) == len(spec["entries"])
    else:
        z = zipfile.ZipFile(path)
        assert z.testzip() is None
        for name, text in spec.get("extra", {}).items():
            prefix = z.namelist()[0].split("/")[0]
            assert z.read(prefix + "/" + name).decode() == text, name
        z.close()
        r = subprocess.run(["unzip", "-t", path], capture_output=True, text=True)
        assert r.returncode == 0 and "No errors detected" in r.stdout, r.stdout + r.stderr
        check_state_dict(torch.load(path, weights_only=True), spec, "torch.load")
        check_state_dict(torch.load(path, weights_only=True, mmap=True), spec, "torch.load mmap")
        sd = torch.load(path, weights_only=True, mmap=True)
        for t in sd.values():
            if t.numel():
                assert t.data_ptr() % 64 == 0, "unaligned mmap tensor"
        try:
            from torch.utils.serialization import config
            config.load.calculate_storage_offsets = True
            check_state_dict(torch.load(path, weights_only=True, mmap=True), spec, "calculate_storage_offsets")
            config.load.calculate_storage_offsets = False
        except ImportError:
            pass
    print("OK")


main()
