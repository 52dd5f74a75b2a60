#!/usr/bin/env python3
"""Writes the bad-input corpus: Tests/Corpus/bad-inputs/{cases/*.body, checkpoints/*, MANIFEST.tsv}.

    python make_bad_inputs.py BINARY        # needs torch (for the base .pth) and the weightinit binary

Every case is a request body (plus method, path and Content-Type) that the server must refuse with a 4xx
problem+json. The expected status of each case is what the server answered when the corpus was made,
after checking that every answer was a 4xx problem+json (a case answered 2xx is not bad input and is left
out, with a note on stderr). BadInputCorpusTests (Tests/IntegrationTests) replays the corpus against the real
server and requires the same status for every case, within a time bound, with the process alive throughout.

The server that judges the corpus runs with the same flags as the test: see SERVER_FLAGS.
"""
import io
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import time
import urllib.request
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "bad-inputs")
SERVER_FLAGS = ["--max-body-bytes", "262144", "--max-job-bytes", "1073741824", "--max-json-depth", "128"]

cases = []  # (name, method, path, content_type, body bytes)


def add(name, body, path="/plan", method="POST", ctype="application/json"):
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    assert name not in [c[0] for c in cases], name
    cases.append((name, method, path, ctype, body))


def net(children, **extra):
    m = {"type": "Net", "children": children}
    m.update(extra)
    return {"seed": 0, "model": m}


GOOD = net({"fc": {"type": "Linear", "in_features": 4, "out_features": 2}},
           init_cfg=[{"type": "Kaiming", "layer": "Linear"}])
GOOD_TEXT = json.dumps(GOOD)

# ---- malformed JSON (400) -------------------------------------------------------------------------------
for i, cut in enumerate(sorted({1, 2, 5, 9, 17, 30, 44, 58, 71, 85, 99, len(GOOD_TEXT) - 1})):
    add(f"json-truncated-{i:02d}", GOOD_TEXT[:cut])
add("json-empty", b"")
add("json-whitespace", b"   \n\t ")
add("json-open-brace", b"{")
add("json-trailing-comma", b'{"model": {"type": "Linear", "in_features": 1, "out_features": 1,}}')
add("json-single-quotes", b"{'model': {'type': 'Linear'}}")
add("json-comment", b'{"model": /* c */ {"type": "Identity"}}')
add("json-nan", b'{"model": {"type": "Dropout", "p": NaN}}')
add("json-infinity", b'{"model": {"type": "Dropout", "p": Infinity}}')
add("json-bare-word", b"nul")
add("json-two-documents", b'{"model": {"type": "Identity"}} {"model": {"type": "Identity"}}')
add("json-unquoted-key", b'{model: {"type": "Identity"}}')
add("json-control-char-in-string", b'{"model": {"type": "Iden\x01tity"}}')
add("json-nul-escape", b'{"model": {"type": "Identity", "x": "a\\u0000b"}}')
add("json-lone-surrogate", b'{"model": {"type": "\\ud800"}}')
add("json-bad-escape", b'{"model": {"type": "\\q"}}')
add("json-bom", b"\xef\xbb\xbf" + GOOD_TEXT.encode())
add("json-utf16", GOOD_TEXT.encode("utf-16"))
add("utf8-invalid-byte", b'{"model": {"type": "Lin\xffear"}}')
add("utf8-overlong", b'{"model": {"type": "\xc0\xafIdentity"}}')
add("utf8-truncated-sequence", b'{"model": {"type": "Identity\xe2\x82"}}')
add("utf8-encoded-surrogate", b'{"model": {"type": "\xed\xa0\x80"}}')
add("utf8-latin1-key", b'{"mod\xe9l": {"type": "Identity"}}')
add("dup-key-top", b'{"model": {"type": "Identity"}, "model": {"type": "Identity"}}')
add("dup-key-seed", b'{"seed": 1, "seed": 2, "model": {"type": "Identity"}}')
add("dup-key-model", b'{"model": {"type": "Identity", "type": "ReLU"}}')
add("dup-key-children", b'{"model": {"type": "Net", "children": {"a": {"type": "ReLU"}, "a": {"type": "ReLU"}}}}')
add("dup-key-init-cfg", b'{"model": {"type": "Net", "init_cfg": {"type": "Normal", "type": "Xavier"}}}')
add("deep-array-10000", b'{"model": ' + b"[" * 10000 + b"]" * 10000 + b"}")
add("deep-object-10000", b'{"model": ' + b'{"a":' * 10000 + b"1" + b"}" * 10000 + b"}")
add("deep-unclosed-10000", b"[" * 10000)
add("deep-array-129", b"[" * 129 + b"]" * 129)
add("deep-children-200", json.dumps(json.loads(
    '{"model": ' + '{"type": "Net", "children": {"c": ' * 200 + '{"type": "ReLU"}' + "}}" * 200 + "}")).encode())
add("int-too-big", b'{"seed": 18446744073709551616, "model": {"type": "Identity"}}')
add("int-huge-literal", b'{"seed": 1' + b"0" * 400 + b', "model": {"type": "Identity"}}')
add("body-too-large", b'{"model": {"type": "Identity"}, "pad": "' + b"x" * 300000 + b'"}')

# ---- wrong content type (415), routing (404/405) -------------------------------------------------------
add("ctype-text-plain", GOOD_TEXT, ctype="text/plain")
add("ctype-form", GOOD_TEXT, ctype="application/x-www-form-urlencoded")
add("ctype-multipart", GOOD_TEXT, ctype="multipart/form-data; boundary=x")
add("ctype-octet-stream", GOOD_TEXT, ctype="application/octet-stream")
add("route-unknown-path", GOOD_TEXT, path="/initialise")
add("route-path-traversal", GOOD_TEXT, path="/../../etc/passwd")
add("route-get-initialize", b"", path="/initialize", method="GET", ctype="")
add("route-put-plan", GOOD_TEXT, path="/plan", method="PUT")
add("route-delete-initializers", b"", path="/initializers", method="DELETE", ctype="")

# ---- top level and request fields (422) -----------------------------------------------------------------
add("top-array", b"[]")
add("top-string", b'"model"')
add("top-number", b"42")
add("top-null", b"null")
add("top-empty-object", b"{}")
add("top-unknown-field", {"model": {"type": "Identity"}, "modle": 1})
add("model-null", {"model": None})
add("model-string", {"model": "Linear"})
add("model-array", {"model": [{"type": "Linear"}]})
for i, seed in enumerate([1.5, "1", True, [1], {"v": 1}, -9223372036854775809, 1e300, 9223372036854775808.0]):
    add(f"seed-wrong-{i}", {"seed": seed, "model": {"type": "Identity"}})
for i, dtype in enumerate(["float", "Float32", "int64", "float8", "", 32, True, ["float32"]]):
    add(f"dtype-wrong-{i}", {"dtype": dtype, "model": {"type": "Identity"}})
for i, fmt in enumerate(["pickle", "SAFETENSORS", "pth", "", 1, {"x": 1}]):
    add(f"format-wrong-{i}", {"format": fmt, "model": {"type": "Identity"}})

# ---- module types ---------------------------------------------------------------------------------------
for i, t in enumerate(["Conv2D", "linear", "Lineer", "torch.nn.Linear", "", "Transformer"]):
    add(f"leaf-unknown-{i}", net({"m": {"type": t, "in_features": 1, "out_features": 1}}))
for i, t in enumerate([None, 3, ["Linear"], {"t": 1}]):
    add(f"type-wrong-{i}", {"model": {"type": t}})
add("type-missing", {"model": {"in_features": 1, "out_features": 1}})
add("type-missing-child", net({"m": {"in_features": 1}}))
add("leaf-with-init-cfg", {"model": {"type": "Linear", "in_features": 1, "out_features": 1, "init_cfg": {"type": "Normal"}}})
add("leaf-with-children", {"model": {"type": "Linear", "in_features": 1, "out_features": 1, "children": {}}})
add("leaf-unknown-argument", net({"m": {"type": "Linear", "in_features": 1, "out_features": 1, "bais": True}}))
add("leaf-missing-argument", net({"m": {"type": "Linear", "in_features": 1}}))
add("container-unknown-key", {"model": {"type": "Net", "childs": {}}})
add("children-array", {"model": {"type": "Net", "children": [{"type": "ReLU"}]}})
add("children-string", {"model": {"type": "Net", "children": "fc"}})
add("child-name-dotted", net({"a.b": {"type": "ReLU"}}))
add("child-name-empty", net({"": {"type": "Linear", "in_features": 1, "out_features": 1}}))
add("bases-string", {"model": {"type": "Net", "bases": "BaseModule"}})
add("bases-numbers", {"model": {"type": "Net", "bases": [1]}})

# ---- every wrong type for every argument of the leaves with parameters ----------------------------------
WRONG = {"int": ["7", 7.5, {}, None], "float": ["0.5", {}, [0.5]], "bool": ["yes", 2, {}], "str": [7, {}, "bogus"]}
LEAVES = {
    "Linear": ({"in_features": 4, "out_features": 2}, {"in_features": "int", "out_features": "int", "bias": "bool"}),
    "Bilinear": ({"in1_features": 2, "in2_features": 2, "out_features": 2},
                 {"in1_features": "int", "in2_features": "int", "out_features": "int", "bias": "bool"}),
    "Conv2d": ({"in_channels": 2, "out_channels": 2, "kernel_size": 3},
               {"in_channels": "int", "out_channels": "int", "kernel_size": "int", "stride": "int",
                "padding": "int", "dilation": "int", "groups": "int", "bias": "bool"}),
    "ConvTranspose1d": ({"in_channels": 2, "out_channels": 2, "kernel_size": 3},
                        {"in_channels": "int", "out_channels": "int", "groups": "int"}),
    "BatchNorm2d": ({"num_features": 4}, {"num_features": "int", "eps": "float", "momentum": "float",
                                          "affine": "bool", "track_running_stats": "bool"}),
    "GroupNorm": ({"num_groups": 2, "num_channels": 4}, {"num_groups": "int", "num_channels": "int", "affine": "bool"}),
    "LayerNorm": ({"normalized_shape": 4}, {"eps": "float", "elementwise_affine": "bool"}),
    "Embedding": ({"num_embeddings": 10, "embedding_dim": 4},
                  {"num_embeddings": "int", "embedding_dim": "int", "padding_idx": "int"}),
    "EmbeddingBag": ({"num_embeddings": 10, "embedding_dim": 4}, {"mode": "str"}),
    "MultiheadAttention": ({"embed_dim": 4, "num_heads": 2},
                           {"embed_dim": "int", "num_heads": "int", "bias": "bool", "add_bias_kv": "bool"}),
    "LSTM": ({"input_size": 2, "hidden_size": 2}, {"input_size": "int", "hidden_size": "int", "num_layers": "int",
                                                  "bidirectional": "bool", "proj_size": "int"}),
    "RNN": ({"input_size": 2, "hidden_size": 2}, {"nonlinearity": "str", "bias": "bool"}),
    "PReLU": ({}, {"num_parameters": "int", "init": "float"}),
}
for leaf, (base, args) in LEAVES.items():
    for arg, kind in args.items():
        for j, value in enumerate(WRONG[kind]):
            node = dict(base, type=leaf)
            node[arg] = value
            add(f"argtype-{leaf}-{arg}-{j}", net({"m": node}))

# ---- shapes: negative, zero, absurd, overflowing --------------------------------------------------------
add("shape-negative-linear", net({"m": {"type": "Linear", "in_features": -1, "out_features": 2}}))
add("shape-negative-conv", net({"m": {"type": "Conv2d", "in_channels": 2, "out_channels": -4, "kernel_size": 3}}))
add("shape-negative-embedding", net({"m": {"type": "Embedding", "num_embeddings": -10, "embedding_dim": 4}}))
add("shape-zero-kernel", net({"m": {"type": "Conv2d", "in_channels": 2, "out_channels": 2, "kernel_size": 0}}))
add("shape-zero-groups", net({"m": {"type": "Conv2d", "in_channels": 2, "out_channels": 2, "kernel_size": 1, "groups": 0}}))
add("shape-groups-not-dividing", net({"m": {"type": "Conv2d", "in_channels": 3, "out_channels": 2, "kernel_size": 1, "groups": 2}}))
add("shape-zero-heads", net({"m": {"type": "MultiheadAttention", "embed_dim": 4, "num_heads": 0}}))
add("shape-heads-not-dividing", net({"m": {"type": "MultiheadAttention", "embed_dim": 5, "num_heads": 2}}))
add("shape-absurd-2pow40", net({"m": {"type": "Linear", "in_features": 1 << 20, "out_features": 1 << 20}}))
add("shape-absurd-embedding", net({"m": {"type": "Embedding", "num_embeddings": 1 << 31, "embedding_dim": 1 << 12}}))
add("shape-overflow-linear", net({"m": {"type": "Linear", "in_features": 1 << 62, "out_features": 1 << 62}}))
add("shape-overflow-conv3d", net({"m": {"type": "Conv3d", "in_channels": 1 << 30, "out_channels": 1 << 30,
                                        "kernel_size": [1 << 30, 1 << 30, 1 << 30]}}))
add("shape-int64-max", net({"m": {"type": "Linear", "in_features": 9223372036854775807, "out_features": 2}}))
add("shape-kernel-list-wrong-length", net({"m": {"type": "Conv2d", "in_channels": 2, "out_channels": 2, "kernel_size": [3, 3, 3]}}))
add("shape-kernel-list-strings", net({"m": {"type": "Conv2d", "in_channels": 2, "out_channels": 2, "kernel_size": ["3", "3"]}}))
add("shape-lstm-proj-too-big", net({"m": {"type": "LSTM", "input_size": 2, "hidden_size": 2, "proj_size": 4}}))
add("shape-lstm-zero-layers", net({"m": {"type": "LSTM", "input_size": 2, "hidden_size": 2, "num_layers": 0}}))
add("shape-groupnorm-not-dividing", net({"m": {"type": "GroupNorm", "num_groups": 3, "num_channels": 4}}))
add("param-shape-negative", {"model": {"type": "Net", "parameters": {"w": {"shape": [-1, 2]}}}})
add("param-shape-overflow", {"model": {"type": "Net", "parameters": {"w": {"shape": [1 << 31, 1 << 31, 1 << 31]}}}})
add("param-shape-2pow100", {"model": {"type": "Net", "parameters": {"w": {"shape": [2] * 100}}}})
add("param-shape-float", {"model": {"type": "Net", "parameters": {"w": {"shape": [1.5]}}}})
add("param-shape-string", {"model": {"type": "Net", "parameters": {"w": {"shape": "3"}}}})
add("param-shape-missing", {"model": {"type": "Net", "parameters": {"w": {}}}})
add("param-dtype-unknown", {"model": {"type": "Net", "parameters": {"w": {"shape": [2], "dtype": "complex64"}}}})
add("param-init-unknown", {"model": {"type": "Net", "parameters": {"w": {"shape": [2], "init": {"type": "Glorot"}}}}})
add("param-init-bad-arg", {"model": {"type": "Net", "parameters": {"w": {"shape": [2, 2], "init": {"type": "Normal", "std": "x"}}}}})
add("param-init-fan-1d", {"model": {"type": "Net", "parameters": {"w": {"shape": [2], "init": {"type": "Xavier"}}}}})
add("param-unknown-key", {"model": {"type": "Net", "parameters": {"w": {"shape": [2], "grad": True}}}})
add("param-name-collides-child", {"model": {"type": "Net", "parameters": {"fc": {"shape": [2]}},
                                            "children": {"fc": {"type": "ReLU"}}}})
add("buffer-fill-string", {"model": {"type": "Net", "buffers": {"b": {"shape": [2], "fill": "one"}}}})
add("buffer-shape-overflow", {"model": {"type": "Net", "buffers": {"b": {"shape": [1 << 40, 1 << 40]}}}})

# ---- init_cfg, layer and override misuse ----------------------------------------------------------------
FC = {"fc": {"type": "Linear", "in_features": 4, "out_features": 2}}
for i, cfg in enumerate([
        {"type": "Glorot"}, {"type": "normal"}, {"layer": "Linear"}, {"type": None}, {"type": 3}, "Normal", 3, [3],
        [{"type": "Normal", "layer": "Linear"}, "Xavier"], {"type": "Normal", "std": "big", "layer": "Linear"},
        {"type": "Uniform", "a": [0], "layer": "Linear"}, {"type": "Kaiming", "mode": "fan_sideways", "layer": "Linear"},
        {"type": "Kaiming", "nonlinearity": "swish", "layer": "Linear"},
        {"type": "Xavier", "distribution": "cauchy", "layer": "Linear"},
        {"type": "Constant", "layer": "Linear"}, {"type": "Normal", "layer": 3}, {"type": "Normal", "layer": ["Linear", 3]},
        {"type": "Normal", "layer": {"x": 1}}, {"type": "Normal", "bias_prob": "p", "layer": "Linear"},
        # bias_prob 1.5 is not bad input: MMEngine 0.10.7 computes -np.log(-1/3) = NaN (numpy warns, nothing raises)
        # and fills NaN biases, as the service does (200, left out); 0.0 raises ZeroDivisionError and 1 TypeError.
        {"type": "Normal", "bias_prob": 1.5, "layer": "Linear"},
        {"type": "Normal", "override": {"type": "Xavier"}}, {"type": "Normal", "override": {"name": "nope", "type": "Xavier"}},
        {"type": "Normal", "override": {"name": "fc", "std": 0.1}}, {"type": "Normal", "override": "fc"},
        {"type": "Normal", "override": [{"name": "fc", "type": "Xavier"}, 3]},
        {"type": "Normal", "override": {"name": 3, "type": "Xavier"}},
        {"type": "Normal", "override": {"name": "fc", "type": "Glorot"}},
        {"type": "Normal", "layer": "Linear", "unknown_arg": 1},
        {"type": "Pretrained"}, {"type": "Pretrained", "checkpoint": 3}, {"type": "Pretrained", "checkpoint": None},
        {"type": "Normal", "bias_prob": 0.0, "layer": "Linear"}, {"type": "Normal", "bias_prob": 1, "layer": "Linear"},
        ]):
    add(f"initcfg-{i:02d}", net(FC, init_cfg=cfg))
for i, steps in enumerate([
        "x", [3], [{"param": "nope.weight", "type": "Normal"}], [{"param": "fc.weight", "type": "Glorot"}],
        [{"module": "fc", "fn": "magic_init"}], [{"module": "nope", "fn": "normal_init"}], [{"param": "fc.weight"}],
        [{"module": "fc", "fn": "constant_init"}], [{"param": "fc.weight", "module": "fc", "fn": "normal_init"}],
        [{"module": "fc", "fn": "normal_init", "std": "wide"}], [{"param": 7, "type": "Normal"}],
        ]):
    add(f"initweights-{i:02d}", net(FC, init_weights=steps))

# ---- Pretrained paths -----------------------------------------------------------------------------------
def pretrained(path, **extra):
    cfg = {"type": "Pretrained", "checkpoint": path}
    cfg.update(extra)
    return net({"fc": {"type": "Linear", "in_features": 2, "out_features": 2}}, init_cfg=cfg)


for i, path in enumerate([
        "../outside/secret.pth", "../../../../../../etc/passwd", "/etc/passwd", "/checkpoints/ok.pth",
        "sub/../../outside/secret.pth", "./../outside/secret.pth", "..", ".", "", "sub", "does-not-exist.pth",
        "link-out.pth", "link-abs.safetensors", "link-dir/etc/passwd", "link-loop.pth", "%2e%2e/outside/secret.pth",
        "~root/.ssh/id_rsa", "C:\\Windows\\win.ini", "\\\\server\\share\\x.pth", "x" * 5000 + ".pth",
        "a/" * 400 + "x.pth",
        "http://127.0.0.1:9/ok.pth", "https://example.com/model.pth", "file:///etc/passwd", "ftp://example.com/x.pth",
        "HTTP://127.0.0.1:9/x.pth", "http://user:pw@127.0.0.1:9/x.pth", "http://127.0.0.1:9/../x.pth",
        "http://169.254.169.254/latest/meta-data/", "gopher://127.0.0.1:70/x", "data:application/octet-stream;base64,AAAA",
        "s3://bucket/x.pth", "hf://org/model",
        ]):
    add(f"pretrained-path-{i:02d}", pretrained(path))
add("pretrained-prefix-wrong-type", pretrained("ok.pth", prefix=3))
add("pretrained-map-location-wrong", pretrained("ok.pth", map_location=["cpu"]))

# ---- hostile programs ({"program": ...}, docs/programs.md) -----------------------------------------------
def prog(ops, storages=None, state_dict=None, **extra):
    p = {"version": 1, "model": "M",
         "storages": [{"numel": 12, "dtype": "float32"}, {"numel": 4, "dtype": "float32"}] if storages is None else storages,
         "state_dict": [{"name": "w", "storage": 0, "shape": [3, 4]}] if state_dict is None else state_dict,
         "sites": ["a.py:1 in f"], "ops": ops}
    p.update(extra)
    return {"seed": 0, "program": p}


def win(storage=0, **w):
    return dict({"storage": storage}, **w)


FILL1 = {"op": "fill_", "out": 1, "value": 1}  # writes storage 1, so copies from it are legal
I64MAX = (1 << 63) - 1
# Windows outside their storage (as `out` of fill_, and as `src` of copy_ after storage 1 was written).
WINDOWS = {
    "offset-at-end": win(offset=12, shape=[1], stride=[1]),
    "offset-past-end": win(offset=13, shape=[1], stride=[1]),
    "offset-negative": win(offset=-1, shape=[2], stride=[1]),
    "offset-int64-max": win(offset=I64MAX, shape=[1], stride=[1]),
    "offset-2pow48": win(offset=1 << 48, shape=[1], stride=[1]),
    "offset-float": win(offset=1.5, shape=[1], stride=[1]),
    "offset-string": win(offset="0", shape=[1], stride=[1]),
    "reach-one-past": win(offset=1, shape=[3, 4], stride=[4, 1]),
    "shape-too-big": win(shape=[13], stride=[1]),
    "shape-negative": win(shape=[-2], stride=[1]),
    "shape-huge-zero-stride": win(shape=[1 << 62, 4], stride=[0, 0]),
    "shape-overflow-product": win(shape=[1 << 40, 1 << 40], stride=[0, 0]),
    "shape-65-dims": win(shape=[1] * 65, stride=[1] * 65),
    "shape-not-array": win(shape=3, stride=[1]),
    "shape-strings": win(shape=["3"], stride=[1]),
    "shape-missing": win(stride=[1]),
    "stride-negative": win(shape=[2], stride=[-1]),
    "stride-int64-max": win(shape=[2], stride=[I64MAX]),
    "stride-overflow-sum": win(offset=1, shape=[2, 2], stride=[(1 << 62), (1 << 62)]),
    "stride-too-long-reach": win(shape=[2, 2], stride=[11, 1]),
    "stride-count-mismatch": win(shape=[2, 2], stride=[1]),
    "stride-missing": win(shape=[2]),
    "stride-float": win(shape=[2], stride=[0.5]),
    "storage-out-of-range": win(storage=2, shape=[1], stride=[1]),
    "storage-negative": win(storage=-1, shape=[1], stride=[1]),
    "storage-int64-max": win(storage=I64MAX, shape=[1], stride=[1]),
    "storage-string": win(storage="0", shape=[1], stride=[1]),
    "storage-missing": {"shape": [1], "stride": [1]},
    "unknown-key": win(shape=[1], stride=[1], dtype="float32"),
    "index-out-of-range": 7,
    "index-negative": -1,
    "index-float": 0.0,
    "index-string": "0",
    "array": [0],
    "bool": True,
}
for name, w in WINDOWS.items():
    add(f"program-out-{name}", prog([{"op": "fill_", "out": w, "value": 0}]))
    add(f"program-src-{name}", prog([FILL1, {"op": "copy_", "out": 0, "src": w}]))
add("program-out-zero-stride-write", prog([{"op": "fill_", "out": win(shape=[3], stride=[0]), "value": 0}]))
add("program-out-noncontiguous-random", prog([{"op": "normal_", "out": win(shape=[4, 3], stride=[1, 4])}]))

# copy_: from storages not yet written, out of range, from itself before any write, cycles, shapes that do not broadcast.
add("program-copy-unwritten", prog([{"op": "copy_", "out": 0, "src": 1}]))
add("program-copy-self-unwritten", prog([{"op": "copy_", "out": 0, "src": 0}]))
add("program-copy-cycle-unwritten", prog([{"op": "copy_", "out": 0, "src": 1}, {"op": "copy_", "out": 1, "src": 0}]))
add("program-copy-out-of-range", prog([FILL1, {"op": "copy_", "out": 0, "src": 5}]))
add("program-copy-out-out-of-range", prog([FILL1, {"op": "copy_", "out": 9, "src": 1}]))
add("program-copy-not-broadcast", prog([FILL1, {"op": "copy_", "out": win(shape=[3, 4], stride=[4, 1]), "src": win(1, shape=[3], stride=[1])}]))
add("program-copy-more-dims", prog([FILL1, {"op": "copy_", "out": win(shape=[4], stride=[1]), "src": win(1, shape=[1, 4], stride=[4, 1])}]))
add("program-copy-missing-src", prog([FILL1, {"op": "copy_", "out": 0}]))
add("program-copy-missing-out", prog([FILL1, {"op": "copy_", "src": 1}]))
# Cycles of copies between written storages, long enough to matter (/initialize evaluates them).
CYC = [{"numel": 4, "dtype": "float32"}, {"numel": 4, "dtype": "float32"}]
CYC_SD = [{"name": "a", "storage": 0, "shape": [4]}]
chain = [{"op": "normal_", "out": 0}, {"op": "normal_", "out": 1}]
for i in range(4000):
    chain.append({"op": "copy_", "out": i % 2, "src": 1 - i % 2})
add("program-copy-cycle-4000", prog(chain + [{"op": "bogus_"}], storages=CYC, state_dict=CYC_SD))
self_chain = [{"op": "normal_", "out": 0}]
for i in range(1500):
    self_chain.append({"op": "copy_", "out": win(offset=i % 2, shape=[1], stride=[1]), "src": win(offset=1 - i % 2, shape=[1], stride=[1])})
add("program-copy-self-chain-1500", prog(self_chain, storages=CYC, state_dict=CYC_SD), path="/initialize")
add("program-copy-cycle-6000", prog(chain[:2] + [{"op": "copy_", "out": i % 2, "src": 1 - i % 2} for i in range(6000)],
                                    storages=CYC, state_dict=CYC_SD), path="/initialize")

# Op counts: a million ops (over the 256 KiB body limit: 413), the op-count limit, many ops within the body limit.
add("program-ops-1000001-over-body-limit", b'{"seed": 0, "program": {"version": 1, "model": "M", "storages": [], "state_dict": [], "ops": ['
    + b",".join([b"0"] * 1000001) + b"]}}")
add("program-ops-9000-last-bad", prog([{"op": "manual_seed", "seed": i} for i in range(9000)] + [{"op": "manual_seed", "seed": "x"}]))
add("program-ops-not-objects", prog([0] * 50000))
add("program-ops-7000-uniform-2pow28", prog([{"op": "uniform_", "out": 1} for _ in range(7000)],
                                            storages=[{"numel": 4, "dtype": "float32"}, {"numel": 1 << 28, "dtype": "float32"}],
                                            state_dict=[{"name": "w", "storage": 0, "shape": [4]}]), path="/initialize")
add("program-ops-not-array", prog({"op": "fill_"}))
add("program-sites-not-strings", prog([], sites=[1, 2]))

# Unknown ops and keys; every op without its required arguments; wrong types for every argument of every op.
for i, op in enumerate(["bernoulli_", "Uniform_", "uniform", "orthogonal_", "", "exec", None, 3, ["fill_"]]):
    add(f"program-op-unknown-{i}", prog([{"op": op, "out": 0}]))
add("program-op-missing-name", prog([{"out": 0, "value": 1}]))
add("program-op-unknown-key", prog([{"op": "fill_", "out": 0, "value": 0, "generator": 1}]))
add("program-op-misspelled-key", prog([{"op": "uniform_", "out": 0, "form": 0}]))
add("program-op-site-out-of-range", prog([{"op": "fill_", "out": 0, "value": 0, "site": 3}]))
add("program-op-site-string", prog([{"op": "fill_", "out": 0, "value": 0, "site": "a.py:1"}]))
add("program-op-module-number", prog([{"op": "fill_", "out": 0, "value": 0, "module": 3}]))
OPS = {  # op: (valid arguments, {argument: kind})
    "manual_seed": ({"seed": 1}, {"seed": "int"}),
    "uniform_": ({"out": 0, "from": -1, "to": 1}, {"from": "num", "to": "num"}),
    "normal_": ({"out": 0, "mean": 0, "std": 1}, {"mean": "num", "std": "num"}),
    "trunc_normal_": ({"out": 0, "mean": 0, "std": 1, "a": -2, "b": 2}, {"mean": "num", "std": "num", "a": "num", "b": "num"}),
    "fill_": ({"out": 0, "value": 1}, {"value": "num"}),
    "literal": ({"out": 1, "data": "AAAAAAAAAAAAAAAAAAAAAA=="}, {"data": "str"}),
    "copy_": ({"out": 0, "src": 1}, {}),
    "mul_": ({"out": 0, "other": 2}, {"other": "num"}),
    "div_": ({"out": 0, "other": 2}, {"other": "num"}),
    "add_": ({"out": 0, "other": 2, "alpha": 1}, {"other": "num", "alpha": "num"}),
    "sub_": ({"out": 0, "other": 2, "alpha": 1}, {"other": "num", "alpha": "num"}),
    "clamp_": ({"out": 0, "min": 0, "max": 1}, {"min": "num", "max": "num"}),
    "erfinv_": ({"out": 0}, {}),
    "init_info_reset": ({"storages": [0], "info": "x"}, {"storages": "ids", "info": "str"}),
    "init_info_update": ({"storages": [0], "info": "x"}, {"storages": "ids", "info": "str"}),
}
PWRONG = {"int": ["1", 1.5, True, [1], {}, 1 << 64], "num": ["1", "NaN", "infinity", True, [1], {}],
          "str": [1, True, [], {}], "ids": [0, "0", [1.5], [-1], [99], [[0]]]}
for op, (valid, kinds) in OPS.items():
    for arg in [a for a in valid if a not in ("seed", "storages", "info", "from", "to", "mean", "std", "a", "b",
                                              "value", "data", "other", "alpha", "min", "max")]:
        add(f"program-{op}-missing-{arg}", prog([FILL1, dict({k: v for k, v in valid.items() if k != arg}, op=op)]))
    for arg, kind in kinds.items():
        for j, value in enumerate(PWRONG[kind]):
            if kind == "int" and value == 1 << 64:
                body = json.dumps(prog([FILL1, dict(valid, op=op, **{arg: "BIG"})])).replace('"BIG"', str(1 << 64))
                add(f"program-{op}-{arg}-wrong-{j}", body)
                continue
            add(f"program-{op}-{arg}-wrong-{j}", prog([FILL1, dict(valid, op=op, **{arg: value})]))
for op in ["uniform_", "mul_", "erfinv_"]:
    add(f"program-{op}-int64-out", prog([dict(OPS[op][0], op=op, out=1)], storages=[{"numel": 12, "dtype": "float32"}, {"numel": 4, "dtype": "int64"}]))
add("program-required-value-missing", prog([{"op": "fill_", "out": 0}]))
add("program-required-seed-missing", prog([{"op": "manual_seed"}]))
add("program-clamp-no-bounds", prog([FILL1, {"op": "clamp_", "out": 0}]))
add("program-uniform-reversed", prog([{"op": "uniform_", "out": 0, "from": 1, "to": 0}]))
add("program-normal-negative-std", prog([{"op": "normal_", "out": 0, "std": -1}]))
add("program-trunc-normal-narrow", prog([{"op": "trunc_normal_", "out": 0, "mean": 0, "std": 1, "a": 1, "b": 1.5}]))
add("program-erfinv-float64", prog([{"op": "erfinv_", "out": 0}], storages=[{"numel": 12, "dtype": "float64"}]))
add("program-add-alpha-float16", prog([{"op": "fill_", "out": 0, "value": 0}, {"op": "add_", "out": 0, "other": 0.1, "alpha": 0.3}],
                                      storages=[{"numel": 12, "dtype": "float16"}]))

# Literals: data length mismatches, bad base64, too much data, int64 beyond 2^53.
for i, data in enumerate(["", "AAAA", "AAAAAAAAAAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAAAAAAAAAAAAAAA", "!!!!", "AAAA====", "AA=A",
                          "QUFB\nQUFB", "ÿÿÿÿ", "A" * 100001]):
    add(f"program-literal-data-{i}", prog([{"op": "literal", "out": 1, "data": data}]))
add("program-literal-int64-beyond-2pow53", prog([{"op": "literal", "out": 1, "data": "AAAAAAAAQAA="}],
                                                 storages=[{"numel": 12, "dtype": "float32"}, {"numel": 1, "dtype": "int64"}]))
add("program-literal-window-mismatch", prog([{"op": "literal", "out": win(shape=[2], stride=[1]), "data": "AAAAAAAAAAAAAAAA"}]))

# Storages: huge numel, unknown dtypes, wrong types; the header.
for i, numel in enumerate([-1, (1 << 48) + 1, I64MAX, 1 << 64, 1.5, "12", None]):
    body = json.dumps(prog([], storages=[{"numel": "BIG" if numel == 1 << 64 else numel, "dtype": "float32"}], state_dict=[]))
    add(f"program-storage-numel-{i}", body.replace('"BIG"', str(1 << 64)))
# Temporaries no state_dict entry reads: their draws still advance the generator, their values may be evaluated.
TMP_OUT = [{"numel": 4, "dtype": "float32"}]
TMP_SD = [{"name": "w", "storage": 0, "shape": [4]}]
add("program-temporary-2pow48-dead-draw", prog([{"op": "uniform_", "out": 1}, {"op": "normal_", "out": 0}],
                                               storages=TMP_OUT + [{"numel": 1 << 48, "dtype": "float32"}], state_dict=TMP_SD), path="/initialize")
add("program-temporary-2pow40-windowed", prog([{"op": "normal_", "out": win(1, offset=1, shape=[16], stride=[1])},
                                               {"op": "copy_", "out": 0, "src": win(1, offset=1, shape=[4], stride=[1])}],
                                              storages=TMP_OUT + [{"numel": 1 << 40, "dtype": "float32"}], state_dict=TMP_SD), path="/initialize")
add("program-temporary-2pow36-copied", prog([{"op": "fill_", "out": 1, "value": 1},
                                             {"op": "copy_", "out": 0, "src": win(1, shape=[4], stride=[1])}],
                                            storages=TMP_OUT + [{"numel": 1 << 36, "dtype": "float64"}], state_dict=TMP_SD), path="/initialize")
add("program-storage-huge-entry", prog([{"op": "uniform_", "out": 0}], storages=[{"numel": 1 << 40, "dtype": "float32"}],
                                       state_dict=[{"name": "w", "storage": 0, "shape": [1 << 20, 1 << 20]}]))
for i, dt in enumerate(["float", "complex64", "uint8", "float8_e4m3fn", "", 1, None]):
    add(f"program-storage-dtype-{i}", prog([], storages=[{"numel": 1, "dtype": dt}], state_dict=[]))
add("program-storage-unknown-key", prog([], storages=[{"numel": 1, "dtype": "float32", "device": "meta"}], state_dict=[]))
add("program-storage-not-object", prog([], storages=[12], state_dict=[]))
add("program-storages-missing", {"seed": 0, "program": {"version": 1, "model": "M", "state_dict": [], "ops": []}})
for i, v in enumerate([2, 0, "1", None, 1.0]):
    add(f"program-version-{i}", prog([], version=v))
add("program-model-number", prog([], model=3))
add("program-unknown-key", prog([], tensors=[]))
for i, p in enumerate([None, "program", [], 3, {}]):
    add(f"program-not-object-{i}", {"seed": 0, "program": p})

# state_dict entries: shape mismatches, bad storages, duplicate names, kinds; modules.
for i, e in enumerate([{"name": "w", "storage": 0, "shape": [3, 5]}, {"name": "w", "storage": 0, "shape": [12, 1, 2]},
                       {"name": "w", "storage": 0, "shape": []}, {"name": "w", "storage": 0, "shape": [-3, -4]},
                       {"name": "w", "storage": 0, "shape": [1 << 31, 1 << 31, 1 << 31]},
                       {"name": "w", "storage": 0, "shape": [0]}, {"name": "w", "storage": 0, "shape": "12"},
                       {"name": "w", "storage": 0, "shape": [1] * 65}]):
    add(f"program-entry-shape-{i}", prog([], state_dict=[e]))
for i, e in enumerate([{"name": "w", "storage": 5, "shape": [12]}, {"name": "w", "storage": -1, "shape": [12]},
                       {"name": "w", "storage": "0", "shape": [12]}, {"name": 3, "storage": 0, "shape": [12]},
                       {"name": "w", "shape": [12]}, {"name": "w", "storage": 0, "shape": [12], "kind": "grad"},
                       {"name": "w", "storage": 0, "shape": [12], "requires_grad": True}, "w"]):
    add(f"program-entry-bad-{i}", prog([], state_dict=[e]))
add("program-entry-duplicate-name", prog([], state_dict=[{"name": "w", "storage": 0, "shape": [12]}, {"name": "w", "storage": 1, "shape": [4]}]))
add("program-entry-duplicate-name-tied", prog([], state_dict=[{"name": "w", "storage": 0, "shape": [12]}, {"name": "w", "storage": 0, "shape": [3, 4]}]))
add("program-entry-no-storages", prog([], storages=[], state_dict=[{"name": "w", "storage": 0, "shape": []}]))
for i, m in enumerate([{"path": "", "class": "M", "parameters": {"weight": 5}}, {"path": "", "class": "M", "parameters": {"weight": "0"}},
                       {"path": "", "class": "M", "parameters": [0]}, {"path": "", "class": "M", "init_weights": "yes"},
                       {"path": "", "class": "M", "bases": "Module"}, {"path": "", "class": 3}, {"class": "M"},
                       {"path": "", "class": "M", "buffers": {"b": -1}}, {"path": "", "class": "M", "children": []}]):
    add(f"program-module-{i}", prog([], modules=[m]))

# A program plus a model; program fields in the wrong place; request fields around a hostile program.
add("program-and-model", dict(prog([]), model={"type": "Identity"}))
add("program-and-model-null-program", {"seed": 0, "model": {"type": "Identity"}, "program": None, "x": 1})
add("program-include-wrong", dict(prog([]), include="w"))
add("program-dtype-wrong", dict(prog([]), dtype="int64"))
add("program-over-job-limit", prog([{"op": "uniform_", "out": 0}], storages=[{"numel": 1 << 29, "dtype": "float32"}],
                                   state_dict=[{"name": "w", "storage": 0, "shape": [1 << 29]}]), path="/initialize")

# ---- hostile checkpoints (written to checkpoints/, referenced by Pretrained) -----------------------------
ckpt_files = {}


def base_pth():
    import torch
    buf = io.BytesIO()
    torch.save({"fc.weight": torch.ones(2, 2), "fc.bias": torch.zeros(2)}, buf)
    return buf.getvalue()


def rezip(src, replace=None, drop=None, add_entries=None, compress=None):
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(src)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            if drop and drop(info.filename):
                continue
            data = zin.read(info.filename)
            if replace:
                data = replace(info.filename, data)
            ctype = compress(info.filename) if compress else zipfile.ZIP_STORED
            zout.writestr(zipfile.ZipInfo(info.filename), data, compress_type=ctype)
        for name, data, ctype in add_entries or []:
            zout.writestr(zipfile.ZipInfo(name), data, compress_type=ctype)
    return out.getvalue()


def pickle_call(module, name, arg):
    a = arg.encode()
    return (b"\x80\x02c" + module.encode() + b"\n" + name.encode() + b"\n" + b"X" + struct.pack("<I", len(a)) + a
            + b"\x85R.")


def with_pickle(pkl):
    return lambda name, data: pkl if name.endswith("/data.pkl") else data


def safetensors(header, payload=b"", length=None):
    h = json.dumps(header).encode() if not isinstance(header, bytes) else header
    return struct.pack("<Q", len(h) if length is None else length) + h + payload


def make_checkpoints():
    pth = base_pth()
    ckpt_files["ok.pth"] = pth
    hostile = {
        "pickle-os-system.pth": pickle_call("os", "system", "touch /tmp/weightinit-pwned"),
        "pickle-posix-system.pth": pickle_call("posix", "system", "touch /tmp/weightinit-pwned"),
        "pickle-builtins-eval.pth": pickle_call("builtins", "eval", "__import__('os').system('id')"),
        "pickle-builtins-exec.pth": pickle_call("builtins", "exec", "import os"),
        "pickle-subprocess.pth": pickle_call("subprocess", "check_output", "id"),
        "pickle-getattr.pth": pickle_call("builtins", "getattr", "x"),
        "pickle-torch-load.pth": pickle_call("torch", "load", "/etc/passwd"),
        "pickle-empty.pth": b"",
        "pickle-garbage.pth": b"\xff\xfe\xfd" * 10,
        "pickle-no-stop.pth": b"\x80\x02}q\x00",
        "pickle-mark-bomb.pth": b"\x80\x02" + b"(" * 100000 + b".",
        "pickle-deep-lists.pth": b"\x80\x02" + b"]" * 200000 + b"a" * 199999 + b".",
        "pickle-huge-binunicode.pth": b"\x80\x02X\xff\xff\xff\x7fabc.",
        "pickle-memo-out-of-range.pth": b"\x80\x02h\x63.",
        "pickle-unknown-opcode.pth": b"\x80\x02\xee.",
        "pickle-protocol-99.pth": b"\x80\x63}.",
    }
    for name, pkl in hostile.items():
        ckpt_files[name] = rezip(pth, replace=with_pickle(pkl))
    # Raw pickles (the legacy, non-zip format), hostile.
    ckpt_files["legacy-os-system.pth"] = pickle_call("os", "system", "id")
    ckpt_files["legacy-builtins-eval.pt"] = pickle_call("builtins", "eval", "1+1")
    # Zip structure lies.
    ckpt_files["zip-truncated-half.pth"] = pth[: len(pth) // 2]
    ckpt_files["zip-truncated-tail.pth"] = pth[:-10]
    ckpt_files["zip-no-central-directory.pth"] = pth[: pth.rfind(b"PK\x01\x02")]
    ckpt_files["zip-empty-archive.pth"] = rezip(pth, drop=lambda n: True)
    ckpt_files["zip-missing-data-pkl.pth"] = rezip(pth, drop=lambda n: n.endswith("data.pkl"))
    ckpt_files["zip-missing-storage.pth"] = rezip(pth, drop=lambda n: "/data/" in n)
    ckpt_files["zip-bomb-deflate.pth"] = rezip(pth, add_entries=[("archive/data/9", b"\0" * (64 << 20), zipfile.ZIP_DEFLATED)])
    # A storage record that inflates to 64 MiB (about 64 KiB compressed) where 16 bytes are expected.
    ckpt_files["zip-bomb-storage.pth"] = rezip(pth, replace=lambda n, d: b"\0" * (64 << 20) if n.endswith("/data/0") else d,
                                               compress=lambda n: zipfile.ZIP_DEFLATED if n.endswith("/data/0") else zipfile.ZIP_STORED)
    ckpt_files["zip-deflated-storage.pth"] = rezip(pth, compress=lambda n: zipfile.ZIP_DEFLATED if "/data/" in n else zipfile.ZIP_STORED)
    ckpt_files["zip-short-storage.pth"] = rezip(pth, replace=lambda n, d: d[:4] if "/data/" in n else d)
    lying = bytearray(pth)
    cd = lying.find(b"PK\x01\x02")
    while cd >= 0:  # every central-directory entry claims a 4 GiB uncompressed size
        lying[cd + 24: cd + 28] = struct.pack("<I", 0xFFFFFFF0)
        cd = lying.find(b"PK\x01\x02", cd + 4)
    ckpt_files["zip-lying-sizes.pth"] = bytes(lying)
    lying2 = bytearray(pth)
    eocd = lying2.rfind(b"PK\x05\x06")
    lying2[eocd + 16: eocd + 20] = struct.pack("<I", len(pth) + 1000)  # central directory offset past the end
    ckpt_files["zip-eocd-offset-past-end.pth"] = bytes(lying2)
    lying3 = bytearray(pth)
    lying3[eocd + 10: eocd + 12] = struct.pack("<H", 0xFFFF)  # 65535 entries claimed
    ckpt_files["zip-eocd-entry-count.pth"] = bytes(lying3)
    ckpt_files["zip-random.pth"] = bytes((i * 7919 + 13) % 251 for i in range(5000))
    # safetensors headers.
    w = struct.pack("<4f", 1, 1, 1, 1)
    ok = {"fc.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}
    ckpt_files["ok.safetensors"] = safetensors(ok, w)
    st = {
        "st-header-length-huge.safetensors": safetensors(ok, w, length=1 << 62),
        "st-header-length-past-end.safetensors": safetensors(ok, w, length=10000),
        "st-header-length-zero.safetensors": safetensors(b"", w),
        "st-header-not-json.safetensors": safetensors(b"{not json" + b" " * 7, w),
        "st-header-array.safetensors": safetensors([1, 2], w),
        "st-header-not-utf8.safetensors": safetensors(b'{"\xff": 1}    ', w),
        "st-overlapping.safetensors": safetensors({"fc.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
                                                   "fc.bias": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}, w),
        "st-out-of-file.safetensors": safetensors({"fc.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 1 << 40]}}, w),
        "st-offsets-reversed.safetensors": safetensors({"fc.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [16, 0]}}, w),
        "st-offsets-negative.safetensors": safetensors({"fc.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [-16, 0]}}, w),
        "st-size-mismatch.safetensors": safetensors({"fc.weight": {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 16]}}, w),
        "st-shape-overflow.safetensors": safetensors({"fc.weight": {"dtype": "F32", "shape": [1 << 62, 1 << 62], "data_offsets": [0, 16]}}, w),
        "st-dtype-unknown.safetensors": safetensors({"fc.weight": {"dtype": "F128", "shape": [2, 2], "data_offsets": [0, 16]}}, w),
        "st-missing-offsets.safetensors": safetensors({"fc.weight": {"dtype": "F32", "shape": [2, 2]}}, w),
        "st-duplicate-key.safetensors": safetensors(b'{"fc.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}, '
                                                    b'"fc.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}', w),
        "st-gap.safetensors": safetensors({"fc.weight": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}, w),
        "st-truncated.safetensors": safetensors(ok, w)[:-5],
        "st-empty.safetensors": b"",
        "st-seven-bytes.safetensors": b"\x10\0\0\0\0\0\0",
    }
    ckpt_files.update(st)
    for name in sorted(ckpt_files):
        if name.startswith("ok."):
            continue
        add(f"checkpoint-{name.rsplit('.', 1)[0]}", pretrained(name))
    # The spec is fine and the checkpoint is fine; the prefix selects nothing: MMEngine's KeyError-free
    # strict=False path is a 200, so it is not part of this corpus. Kept here as the corpus' positive control.


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_checkpoint_dir(root):
    """The folder layout the test builds: checkpoints/ (the server's --checkpoint-dir) plus outside/."""
    ck = os.path.join(root, "checkpoints")
    os.makedirs(os.path.join(ck, "sub"))
    os.makedirs(os.path.join(root, "outside"))
    for name in os.listdir(os.path.join(OUT, "checkpoints")):
        shutil.copy(os.path.join(OUT, "checkpoints", name), ck)
    shutil.copy(os.path.join(OUT, "checkpoints", "ok.pth"), os.path.join(root, "outside", "secret.pth"))
    os.symlink("../outside/secret.pth", os.path.join(ck, "link-out.pth"))
    os.symlink("/etc/passwd", os.path.join(ck, "link-abs.safetensors"))
    os.symlink("/", os.path.join(ck, "link-dir"))
    os.symlink("link-loop.pth", os.path.join(ck, "link-loop.pth"))
    return ck


def main():
    binary = sys.argv[1]
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(os.path.join(OUT, "cases"))
    os.makedirs(os.path.join(OUT, "checkpoints"))
    make_checkpoints()
    for name, data in ckpt_files.items():
        open(os.path.join(OUT, "checkpoints", name), "wb").write(data)
    import tempfile
    tmp = tempfile.mkdtemp()
    ck = prepare_checkpoint_dir(tmp)
    port, ops = free_port(), free_port()
    proc = subprocess.Popen([binary, "serve", "--port", str(port), "--ops-port", str(ops), "--log-level", "error",
                             "--checkpoint-dir", ck] + SERVER_FLAGS)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{ops}/healthz", timeout=1)
                break
            except Exception:
                time.sleep(0.1)
        import http.client
        rows = []
        for name, method, path, ctype, body in cases:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            headers = {"Content-Type": ctype} if ctype else {}
            try:
                conn.request(method, path, body=body if body or method == "POST" else None, headers=headers)
                r = conn.getresponse()
                data = r.read()
                status, rtype = r.status, r.getheader("Content-Type", "")
            except Exception as e:  # noqa: BLE001
                print(f"{name}: no answer ({e})", file=sys.stderr)
                status, rtype, data = 0, "", b""
            finally:
                conn.close()
            if not (400 <= status < 500) or "problem+json" not in rtype:
                print(f"left out {name}: {status} {rtype} {data[:160]!r}", file=sys.stderr)
                continue
            open(os.path.join(OUT, "cases", name + ".body"), "wb").write(body)
            rows.append((name, method, path, ctype or "-", str(status)))
            if os.environ.get("CORPUS_VERBOSE"):
                print(f"{name}\t{status}\t{json.loads(data).get('detail', '')[:150]}", file=sys.stderr)
        assert proc.poll() is None, "the server died"
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    with open(os.path.join(OUT, "MANIFEST.tsv"), "w") as f:
        f.write("# name\tmethod\tpath\tcontent-type\texpected status  (written by ../make_bad_inputs.py; bodies in cases/NAME.body)\n")
        for row in rows:
            f.write("\t".join(row) + "\n")
    from collections import Counter
    print(len(rows), "cases;", dict(sorted(Counter(r[4] for r in rows).items())), file=sys.stderr)


if __name__ == "__main__":
    main()
