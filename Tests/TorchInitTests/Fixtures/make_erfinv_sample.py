#!/usr/bin/env python3
"""Writes erfinv_mkl_sample{,_avx2,_avx512}.bin: (input bits, torch.erfinv output bits) uint32 little-endian pairs
for float32 inputs, computed by real torch (2.15 CPU, x86 MKL `vmsErfInv`) on one of MKL's code paths. Used by
ErfinvMKLTests.

The inputs: 3000 of the exceptions listed in Sources/TorchRandom/ErfinvMKLTable{,AVX2,AVX512}.swift (random sign), 3000 random
float bit patterns in (-1, 1), 2000 random uniform_(-1, 1) grid values (-1 + k*2^-23), the 500 floats nearest
each of 0, ±0.5, ±1, and specials. Deterministic (seeded).

    python make_erfinv_sample.py [sse4_2|avx2|avx512]    # from this directory, with the reference venv; avx512 on
                                                         # a CPU with AVX-512
"""
import base64, os, re, sys
PATH = sys.argv[1] if len(sys.argv) > 1 else 'sse4_2'
SUFFIX = {'sse4_2': '', 'avx2': 'AVX2', 'avx512': 'AVX512'}[PATH]
# torch computes erfinv_ with Intel MKL, whose code path depends on the CPU: pin the path, before torch loads MKL.
os.environ["MKL_ENABLE_INSTRUCTIONS"] = {'sse4_2': 'SSE4_2', 'avx2': 'AVX2', 'avx512': 'AVX512'}[PATH]
import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
TABLE = os.path.join(HERE, '..', '..', '..', 'Sources', 'TorchRandom', 'ErfinvMKLTable%s.swift' % SUFFIX)


def table_keys():
    src = open(TABLE).read()
    body = re.search(r'"""\n(.*?)"""', src, re.S).group(1)
    data = base64.b64decode(''.join(body.split()))
    keys, prev, v, sh = [], int(re.search(r'starting at 0x([0-9A-F]+)', src).group(1), 16), 0, 0
    for b in data:
        v |= (b & 0x7F) << sh
        sh += 7
        if b & 0x80:
            continue
        prev += v >> 2
        keys.append(prev)
        v = sh = 0
    return np.array(keys, np.uint32)


rng = np.random.default_rng(20260527)
keys = table_keys()
exc = rng.choice(keys, 3000, replace=False) | (rng.integers(0, 2, 3000, dtype=np.uint32) << 31)
arb = rng.integers(0, 0x3F800000, 3000, dtype=np.uint32) | (rng.integers(0, 2, 3000, dtype=np.uint32) << 31)
grid = (rng.integers(0, 1 << 24, 2000).astype(np.float32) * np.float32(2 ** -23) - np.float32(1)).view(np.uint32)
near = []
for c in (0.0, 0.5, 1.0):
    cb = int(np.float32(c).view(np.uint32))
    near += list(range(max(cb - 250, 0), cb + 250 if c < 1 else cb))
near = np.array(near, np.uint32)
near = np.concatenate([near, near | np.uint32(0x80000000)])
specials = np.array([0, 0x80000000, 0x3F800000, 0xBF800000, 0x00000001, 0x80000001, 0x00800000], np.uint32)
inp = np.unique(np.concatenate([exc, arb, grid, near, specials]).astype(np.uint32))
rng.shuffle(inp)
out = torch.erfinv(torch.from_numpy(inp.view(np.float32).copy())).numpy().view(np.uint32)
pairs = np.stack([inp, out], axis=1).astype('<u4')
pairs.tofile(os.path.join(HERE, 'erfinv_mkl_sample%s.bin' % ('_' + PATH if SUFFIX else '')))
print('%d pairs (%d table exceptions)' % (len(pairs), np.isin(inp & 0x7FFFFFFF, keys).sum()))
