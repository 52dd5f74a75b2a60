#!/usr/bin/env python3
"""Benchmark helpers (numpy only).

    python measure.py run OUT.json -- CMD ARGS...     # wall seconds + peak RSS of CMD (os.wait4), CMD's stdout kept
    python measure.py compare SPEC.json A.safetensors B.safetensors
        exit 0 when both files hold the same keys, dtypes, shapes and bytes; for a spec that uses TruncNormal,
        floats may differ by at most 2 ulp in at most 0.1% of the elements (scripts/compare.py's rule).
"""
import json
import os
import struct
import subprocess
import sys
import time

import numpy as np

NP = {'F64': np.float64, 'F32': np.float32, 'F16': np.float16, 'BF16': np.uint16,
      'I64': np.int64, 'I32': np.int32, 'I16': np.int16, 'I8': np.int8, 'U8': np.uint8, 'BOOL': np.bool_}
ORDERED = {'F64': np.int64, 'F32': np.int32, 'F16': np.int16, 'BF16': np.int16}


def run(out_json, cmd):
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    stdout = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    rc = os.waitstatus_to_exitcode(status)
    res = {'cmd': cmd, 'rc': rc, 'wall_s': round(wall, 3), 'peak_rss_mb': round(ru.ru_maxrss / 1024, 1),
           'user_s': round(ru.ru_utime, 3), 'sys_s': round(ru.ru_stime, 3)}
    try:
        res['stdout'] = json.loads(stdout.decode().strip().splitlines()[-1])
    except Exception:
        res['stdout'] = stdout.decode(errors='replace')[-2000:]
    runs = json.load(open(out_json)) if os.path.exists(out_json) else []  # one entry per repetition
    runs.append(res)
    with open(out_json, 'w') as f:
        json.dump(runs, f)
    return rc


def read_header(path):
    with open(path, 'rb') as f:
        (n,) = struct.unpack('<Q', f.read(8))
        header = json.loads(f.read(n))
    header.pop('__metadata__', None)
    return header, 8 + n


def ulp_distance(dtype, a, b):
    it = ORDERED[dtype]
    bits = np.iinfo(it).bits
    ia = a.view(it).astype(np.int64)
    ib = b.view(it).astype(np.int64)
    ia = np.where(ia < 0, -(ia & ((1 << (bits - 1)) - 1)), ia)
    ib = np.where(ib < 0, -(ib & ((1 << (bits - 1)) - 1)), ib)
    return np.abs(ia - ib)


def compare(spec_path, a_path, b_path):
    """Tensor by tensor through np.memmap: memory stays ~ one tensor."""
    loose = 'TruncNormal' in open(spec_path).read()
    ha, ba = read_header(a_path)
    hb, bb = read_header(b_path)
    problems, identical, loose_ok, worst_frac = [], 0, 0, 0.0
    if sorted(ha) != sorted(hb):
        problems.append(f'keys differ: only in A {sorted(set(ha) - set(hb))[:5]}, only in B {sorted(set(hb) - set(ha))[:5]}')
    ma = np.memmap(a_path, dtype=np.uint8, mode='r')
    mb = np.memmap(b_path, dtype=np.uint8, mode='r')
    for k in ha:
        if k not in hb:
            continue
        ta, tb = ha[k], hb[k]
        if ta['dtype'] != tb['dtype'] or ta['shape'] != tb['shape']:
            problems.append(f"{k}: {ta['dtype']}{ta['shape']} vs {tb['dtype']}{tb['shape']}")
            continue
        xa = ma[ba + ta['data_offsets'][0]:ba + ta['data_offsets'][1]]
        xb = mb[bb + tb['data_offsets'][0]:bb + tb['data_offsets'][1]]
        if np.array_equal(xa, xb):
            identical += 1
            continue
        dt = ta['dtype']
        if loose and dt in ORDERED:
            d = ulp_distance(dt, np.asarray(xa).view(NP[dt]), np.asarray(xb).view(NP[dt]))
            frac = float((d > 0).mean())
            worst_frac = max(worst_frac, frac)
            if d.max() <= 2 and frac <= 0.001:
                loose_ok += 1
                continue
            problems.append(f'{k}: {int((d > 0).sum())}/{d.size} elements differ, max {int(d.max())} ulp')
        else:
            problems.append(f'{k}: {int((np.asarray(xa) != np.asarray(xb)).sum())} of {xa.size} bytes differ')
    summary = f'{identical} identical' + (f', {loose_ok} within TruncNormal tolerance (worst {worst_frac:.4%} differ)' if loose_ok else '')
    return problems, summary




def table(results_dir, cases):
    """Markdown table from RESULTS_DIR/{case}.{torch,ours,cmp}.json: best (min) time of the repetitions, max RSS."""
    rows = ['| model | params | torch init+save (s) | ours (s) | time ours/torch | torch CPU (s) | ours CPU (s) | '
            'CPU ours/torch | torch peak RSS (MB) | ours peak RSS (MB) | RSS ours/torch | output |',
            '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|']
    for c in cases:
        def load(kind):
            p = os.path.join(results_dir, f'{c}.{kind}.json')
            return json.load(open(p)) if os.path.exists(p) else None
        t, o, m = load('torch'), load('ours'), load('cmp')
        t = [r for r in t or [] if r['rc'] == 0 and isinstance(r['stdout'], dict)]
        o = [r for r in o or [] if r['rc'] == 0]
        if not t or not o:
            rows.append(f'| {c} | | | | | | | | | | | failed |')
            continue
        params = t[0]['stdout']['params']
        tin = min(r['stdout']['total_s'] for r in t)
        tcpu = min(r['stdout'].get('cpu_s', float('nan')) for r in t)
        trss = max(r['peak_rss_mb'] for r in t)
        ow = min(r['wall_s'] for r in o)
        ocpu = min(r['user_s'] + r['sys_s'] for r in o)
        orss = max(r['peak_rss_mb'] for r in o)
        rows.append(f"| {c} | {params / 1e6:.1f}M | {tin:.2f} | {ow:.2f} | **{ow / tin:.2f}** | {tcpu:.2f} | {ocpu:.2f} | "
                    f"{ocpu / tcpu:.2f} | {trss:.0f} | {orss:.0f} | **{orss / trss:.2f}** | {m['verdict'] if m else '?'} |")
    return '\n'.join(rows)


def compare_to_json(out_json, spec, a, b):
    probs, summary = compare(spec, a, b)
    verdict = ('identical' if 'within' not in summary else 'TruncNormal tolerance') if not probs else 'DIFFER'
    with open(out_json, 'w') as f:
        json.dump({'verdict': verdict, 'summary': summary, 'problems': probs[:20]}, f)
    print(verdict + ': ' + ('; '.join(probs[:5]) if probs else summary))
    return 1 if probs else 0


if __name__ == '__main__':
    if sys.argv[1] == 'run':
        sys.exit(run(sys.argv[2], sys.argv[sys.argv.index('--') + 1:]))
    if sys.argv[1] == 'compare':
        probs, summary = compare(*sys.argv[2:5])
        if probs:
            print('DIFFER: ' + '; '.join(probs[:5]) + f' ({len(probs)} tensors; {summary})')
            sys.exit(1)
        print('identical' if 'within' not in summary else 'match: ' + summary)
    if sys.argv[1] == 'compare-json':
        sys.exit(compare_to_json(*sys.argv[2:6]))
    if sys.argv[1] == 'table':
        print(table(sys.argv[2], sys.argv[3:]))
