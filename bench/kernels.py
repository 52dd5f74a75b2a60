#!/usr/bin/env python3
"""torch's float32 normal_/uniform_ throughput on one thread (the other side of bench/kernelbench).
    python kernels.py [N] [REPEAT]   -> one JSON line per kernel"""
import json, sys, time
import torch

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1 << 24
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 7
torch.set_num_threads(1)
torch.manual_seed(0)
t = torch.empty(n)
for name, op in [('normal_', lambda: t.normal_()), ('uniform_', lambda: t.uniform_(-1, 1))]:
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter(); op(); ts.append(time.perf_counter() - t0)
    ts.sort()
    med = ts[len(ts) // 2]
    print(json.dumps({'kernel': name, 'n': n, 'best_s': ts[0], 'median_s': med, 'melem_per_s': n / med / 1e6}))
