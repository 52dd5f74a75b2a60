#!/usr/bin/env python3
"""One benchmark invocation (bench/run.sh calls this): PyTorch in-process vs the service over HTTP vs the CLI,
plus kernel throughput, all outputs on tmpfs, medians of alternating runs.

    python bench.py --bin DIR --shared ../shared/bench --tmp /dev/shm/x --repeat 5 [--workers N] [case ...]
    python bench.py fetch URL SPEC.json OUT     # the HTTP client (streams the body to OUT), prints JSON
    python bench.py tmpfs-write BYTES OUT       # the floor: writing that many bytes to a tmpfs file, prints JSON

Per case and repetition, in this order: torch (bench/torch_baseline.py: manual_seed + build + init_weights +
save_file, timed in-process), the HTTP client (POST /initialize, body streamed to a file; timed from the request
to the closed file), the CLI (`weightinit init`, whole process). CPU = user + sys: torch's own process, the
client and the server (from /proc/PID/stat), the CLI process. Peak RSS: ru_maxrss (torch, CLI, client) and the
server's VmHWM over the case (reset through /proc/PID/clear_refs before it). The first repetition's outputs are
compared: torch vs HTTP tensor by tensor (bench/measure.py), HTTP vs CLI byte for byte.
"""
import argparse, fcntl, http.client, json, os, resource, signal, socket, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))


def fetch(url, spec_path, out_path):
    """POST /initialize over one HTTP/1.1 connection and stream the body to `out_path`.

    On Linux the body goes socket -> pipe -> file with splice(2): the kernel hands the received pages to the pipe
    and copies them once, into the file (recv + write would copy them twice, through this process's memory; on
    gpt2-small that is ~0.15 s less client CPU on a machine where the request is CPU-bound). Elsewhere, recv_into +
    write. The status line and headers are parsed here (Content-Length is required: the service always sends it)."""
    host, port = url.split('//')[1].split('/')[0].split(':')
    body = open(spec_path, 'rb').read()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    s = socket.create_connection((host, int(port)), timeout=600)
    s.settimeout(None)  # blocking: splice(2) on a non-blocking socket returns EAGAIN
    s.sendall(b'POST /initialize HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: application/json\r\n'
              b'Content-Length: %d\r\nConnection: close\r\n\r\n' % (host.encode(), port.encode(), len(body)) + body)
    head = bytearray()
    while b'\r\n\r\n' not in head:
        d = s.recv(1 << 16)
        if not d:
            raise SystemExit('connection closed before the response headers')
        head += d
    head, rest = bytes(head).split(b'\r\n\r\n', 1)
    lines = head.decode('latin-1').split('\r\n')
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (l.split(':', 1) for l in lines[1:] if ':' in l)}
    if status != 200:
        print(json.dumps({'error': status, 'body': (rest + s.recv(2000)).decode(errors='replace')}))
        return 1
    length = int(headers['content-length'])
    fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, rest)
    total = len(rest)
    if hasattr(os, 'splice'):
        r, w = os.pipe()
        try:
            fcntl.fcntl(w, getattr(fcntl, 'F_SETPIPE_SZ', 1031), 1 << 20)
        except OSError:
            pass  # over /proc/sys/fs/pipe-max-size: the default pipe size works too
        while total < length:
            n = os.splice(s.fileno(), w, length - total, flags=os.SPLICE_F_MOVE)
            if n == 0:
                break
            total += n
            while n:
                n -= os.splice(r, fd, n, flags=os.SPLICE_F_MOVE)
        os.close(r)
        os.close(w)
    else:
        view = memoryview(bytearray(4 << 20))
        while total < length and (n := s.recv_into(view)):
            os.write(fd, view[:n])
            total += n
    os.close(fd)
    s.close()
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({'wall_s': round(wall, 4), 'bytes': total, 'content_length': length,
                      'cpu_s': round(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime, 4),
                      'peak_rss_mb': round(r1.ru_maxrss / 1024, 1)}))
    return 0 if total == length else 1


def tmpfs_write(size, out_path):
    """The floor any client pays here: writing `size` bytes from memory to a new tmpfs file (4 MiB writes)."""
    buf = bytes(4 << 20)
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    left = size
    while left > 0:
        left -= os.write(fd, memoryview(buf)[:min(left, len(buf))])
    os.close(fd)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    os.remove(out_path)
    print(json.dumps({'wall_s': round(wall, 4), 'cpu_s': round(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime, 4)}))
    return 0


def wait4(cmd, env=None):
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out, err = p.communicate()
    _, status, ru = os.wait4(p.pid, 0) if p.returncode is None else (0, 0, None)
    wall = time.perf_counter() - t0
    return p.returncode, out.decode(), err.decode(), wall


def run_measured(cmd):
    """wall, CPU, peak RSS of a child (os.wait4), its last stdout line as JSON if it is one."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    rc = os.waitstatus_to_exitcode(status)
    res = {'rc': rc, 'wall_s': wall, 'cpu_s': ru.ru_utime + ru.ru_stime, 'peak_rss_mb': ru.ru_maxrss / 1024}
    try:
        res['json'] = json.loads(out.decode().strip().splitlines()[-1])
    except Exception:
        res['json'] = None
    if rc != 0:
        res['stderr'] = err.decode(errors='replace')[-2000:]
    return res


def proc_cpu(pid):
    f = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf('SC_CLK_TCK')


def proc_hwm_mb(pid):
    for line in open(f'/proc/{pid}/status'):
        if line.startswith('VmHWM:'):
            return int(line.split()[1]) / 1024
    return float('nan')


def loadavg():
    return open('/proc/loadavg').read().split()[:3]


def start_server(binary, workers):
    s = socket.socket(); s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]; s.close()
    p = subprocess.Popen([binary, 'serve', '--host', '127.0.0.1', '--port', str(port), '--ops-port=-1',
                          '--workers', str(workers), '--log-level', 'warning'],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            c = http.client.HTTPConnection('127.0.0.1', port, timeout=2); c.request('GET', '/initializers'); c.getresponse().read()
            return p, f'http://127.0.0.1:{port}'
        except OSError:
            time.sleep(0.05)
    p.kill()
    raise SystemExit('server did not start')


def med(xs):
    return statistics.median(xs) if xs else float('nan')


def kernels(bindir, py, repeat, n, workers):
    ours = {'normal_': [], 'uniform_': [], 'normal_parallel': [], 'uniform_parallel': []}
    torch = {'normal_': [], 'uniform_': []}
    for _ in range(repeat):  # alternate the two sides
        rc, out, err, _ = wait4([os.path.join(bindir, 'kernelbench'), str(n), '5'], env=dict(os.environ, WORKERS=str(workers)))
        for line in out.splitlines():
            d = json.loads(line)
            k = d['kernel'].rstrip('0123456789')
            if k in ours:
                ours[k].append(d['melem_per_s'])
        rc, out, err, _ = wait4([py, os.path.join(HERE, 'kernels.py'), str(n), '5'])
        for line in out.splitlines():
            d = json.loads(line)
            torch[d['kernel']].append(d['melem_per_s'])
    return {k: med(v) for k, v in ours.items()}, {k: med(v) for k, v in torch.items()}


# The tensor each case fetches alone with --include (gpt: the 2048x8192 / 768x3072 MLP projection).
INCLUDE = {'gpt2-small': 'h.0.mlp.c_proj.weight', 'resnet50': 'layer4.0.conv2.weight', 'gpt-1.3b': 'h.0.mlp.c_proj.weight'}


def main():
    if len(sys.argv) > 1 and sys.argv[1] == 'fetch':
        sys.exit(fetch(*sys.argv[2:5]))
    if len(sys.argv) > 1 and sys.argv[1] == 'tmpfs-write':
        sys.exit(tmpfs_write(int(sys.argv[2]), sys.argv[3]))
    ap = argparse.ArgumentParser()
    ap.add_argument('--bin', required=True)
    ap.add_argument('--shared', required=True)
    ap.add_argument('--tmp', required=True)
    ap.add_argument('--repeat', type=int, default=5)
    ap.add_argument('--workers', type=int, default=os.cpu_count())
    ap.add_argument('--kernel-n', type=int, default=1 << 24)
    ap.add_argument('--json', default=None)
    ap.add_argument('cases', nargs='*')
    a = ap.parse_args()
    py = sys.executable
    specs = {'gpt2-small': ['gpt', '12', '768', '50304'], 'resnet50': ['resnet50'], 'gpt-1.3b': ['gpt', '24', '2048', '50304']}
    cases = a.cases or list(specs)
    os.makedirs(a.tmp, exist_ok=True)
    binary = os.path.join(a.bin, 'weightinit')
    report = {'load_before': loadavg(), 'workers': a.workers, 'repeat': a.repeat, 'cases': {}}

    print(f'== kernels (n = {a.kernel_n}, {a.repeat} alternating runs)', file=sys.stderr)
    ours_k, torch_k = kernels(a.bin, py, a.repeat, a.kernel_n, a.workers)
    report['kernels'] = {'ours': ours_k, 'torch': torch_k, 'load': loadavg()}

    server, url = start_server(binary, a.workers)
    try:
        for c in cases:
            print(f'== {c}', file=sys.stderr)
            spec = os.path.join(a.tmp, f'{c}.spec.json')
            with open(spec, 'w') as f:
                subprocess.run([py, os.path.join(a.shared, 'specs.py')] + specs[c], stdout=f, check=True)
            outs = {k: os.path.join(a.tmp, f'{c}.{k}.safetensors') for k in ('torch', 'http', 'cli')}
            rows = {'torch': [], 'http': [], 'cli': []}
            verdict = {}
            open(f'/proc/{server.pid}/clear_refs', 'w').write('5')  # reset the server's peak RSS
            for r in range(a.repeat):
                for k in outs:
                    if os.path.exists(outs[k]):
                        os.remove(outs[k])
                t = run_measured([py, os.path.join(HERE, 'torch_baseline.py'), spec, outs['torch']])
                if t['rc'] != 0 or not t['json']:
                    raise SystemExit(f'torch baseline failed: {t.get("stderr")}')
                rows['torch'].append({'time_s': t['json']['total_s'], 'cpu_s': t['json']['cpu_s'], 'peak_rss_mb': t['peak_rss_mb'],
                                      'params': t['json']['params']})
                s0 = proc_cpu(server.pid)
                h = run_measured([py, os.path.join(HERE, 'bench.py'), 'fetch', url, spec, outs['http']])
                s1 = proc_cpu(server.pid)
                if h['rc'] != 0 or not h['json']:
                    raise SystemExit(f'HTTP fetch failed: {h.get("json")} {h.get("stderr")}')
                rows['http'].append({'time_s': h['json']['wall_s'], 'server_cpu_s': s1 - s0, 'client_cpu_s': h['json']['cpu_s'],
                                     'client_rss_mb': h['json']['peak_rss_mb']})
                if r == 0:  # in a child: the memory-mapped comparison would inflate this process (and ru_maxrss of later forks)
                    cmpj = os.path.join(a.tmp, f'{c}.cmp.json')
                    subprocess.run([py, os.path.join(HERE, 'measure.py'), 'compare-json', cmpj, spec, outs['torch'], outs['http']],
                                   stdout=subprocess.DEVNULL)
                    cj = json.load(open(cmpj))
                    verdict['torch_vs_http'] = cj['verdict'] if cj['verdict'] != 'DIFFER' else 'DIFFER: ' + '; '.join(cj['problems'][:3])
                os.remove(outs['torch'])
                # Diagnostic, not a result: the same request with the body received and discarded (/dev/null), i.e.
                # the service's side without the client's file write.
                d = run_measured([py, os.path.join(HERE, 'bench.py'), 'fetch', url, spec, '/dev/null'])
                if d['rc'] != 0 or not d['json']:
                    raise SystemExit(f'HTTP fetch to /dev/null failed: {d.get("json")} {d.get("stderr")}')
                rows.setdefault('discard', []).append({'time_s': d['json']['wall_s']})
                cl = run_measured([binary, 'init', spec, '-o', outs['cli'], '--workers', str(a.workers)])
                if cl['rc'] != 0:
                    raise SystemExit(f'CLI failed: {cl.get("stderr")}')
                rows['cli'].append({'time_s': cl['wall_s'], 'cpu_s': cl['cpu_s'], 'peak_rss_mb': cl['peak_rss_mb']})
                if r == 0:
                    same = subprocess.run(['cmp', '-s', outs['http'], outs['cli']]).returncode == 0
                    verdict['http_vs_cli'] = 'identical' if same else 'DIFFER'
                print(f"   run {r + 1}: torch {rows['torch'][-1]['time_s']:.2f} s, http {rows['http'][-1]['time_s']:.3f} s, "
                      f"cli {rows['cli'][-1]['time_s']:.3f} s  (load {' '.join(loadavg())})", file=sys.stderr)
            size = os.path.getsize(outs['http'])
            floor = [run_measured([py, os.path.join(HERE, 'bench.py'), 'tmpfs-write', str(size), os.path.join(a.tmp, 'floor')])['json']
                     for _ in range(a.repeat)]
            # include: one tensor of the model, against the full CLI run (same bytes, cost that follows the tensor)
            one = INCLUDE[c]
            part = os.path.join(a.tmp, f'{c}.include.safetensors')
            inc_rows = []
            for r in range(a.repeat):
                if not os.path.exists(outs['cli']):
                    run_measured([binary, 'init', spec, '-o', outs['cli'], '--workers', str(a.workers)])
                ir = run_measured([binary, 'init', spec, '-o', part, '--include', one, '--workers', str(a.workers)])
                if ir['rc'] != 0:
                    raise SystemExit(f'CLI --include failed: {ir.get("stderr")}')
                inc_rows.append({'time_s': ir['wall_s'], 'cpu_s': ir['cpu_s']})
            same = subprocess.run([py, '-c', 'import sys; from safetensors.numpy import load_file as l; '
                                   'a = l(sys.argv[1]); b = l(sys.argv[2]); n = sys.argv[3]; '
                                   'sys.exit(0 if list(b) == [n] and a[n].tobytes() == b[n].tobytes() else 1)',
                                   outs['cli'], part, one]).returncode == 0
            verdict['include'] = 'identical' if same else 'DIFFER'
            os.remove(part)
            for k in outs:
                if os.path.exists(outs[k]):
                    os.remove(outs[k])
            tt = med([x['time_s'] for x in rows['torch']])
            ht = med([x['time_s'] for x in rows['http']])
            ct = med([x['time_s'] for x in rows['cli']])
            report['cases'][c] = {
                'params': rows['torch'][0]['params'], 'runs': rows, 'verdict': verdict, 'load_after': loadavg(),
                'torch_s': tt, 'http_s': ht, 'cli_s': ct, 'ratio_http': tt / ht, 'ratio_cli': tt / ct,
                'torch_cpu_s': med([x['cpu_s'] for x in rows['torch']]),
                'http_server_cpu_s': med([x['server_cpu_s'] for x in rows['http']]),
                'http_client_cpu_s': med([x['client_cpu_s'] for x in rows['http']]),
                'cli_cpu_s': med([x['cpu_s'] for x in rows['cli']]),
                'torch_rss_mb': max(x['peak_rss_mb'] for x in rows['torch']),
                'server_rss_mb': proc_hwm_mb(server.pid),
                'cli_rss_mb': max(x['peak_rss_mb'] for x in rows['cli']),
                'http_discard_s': med([x['time_s'] for x in rows['discard']]),
                'tmpfs_write': {'bytes': size, 'time_s': med([x['wall_s'] for x in floor]), 'cpu_s': med([x['cpu_s'] for x in floor])},
                'include': {'tensor': one, 'time_s': med([x['time_s'] for x in inc_rows]),
                            'cpu_s': med([x['cpu_s'] for x in inc_rows])},
            }
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
    report['load_after'] = loadavg()
    if a.json:
        json.dump(report, open(a.json, 'w'), indent=1)
    print(markdown(report))


def markdown(rep):
    k = rep['kernels']
    lines = ['| kernel (float32, one core unless noted) | torch M elem/s | ours M elem/s | ours/torch |', '|---|---:|---:|---:|']
    for name in ('normal_', 'uniform_'):
        lines.append(f"| `{name}` | {k['torch'][name]:.0f} | {k['ours'][name]:.0f} | **{k['ours'][name] / k['torch'][name]:.2f}×** |")
    for name in ('normal_', 'uniform_'):
        lines.append(f"| `{name}` split over {rep['workers']} threads (8 MiB chunks) | {k['torch'][name]:.0f} (1 thread) | "
                     f"{k['ours'][name + 'parallel']:.0f} | {k['ours'][name + 'parallel'] / k['torch'][name]:.2f}× |")
    lines += ['', '| model | params | torch in-process (s) | HTTP (s) | **torch/HTTP** | CLI (s) | torch/CLI | torch CPU (s) | '
              'server + client CPU (s) | CLI CPU (s) | torch peak RSS (MB) | server peak RSS (MB) | CLI peak RSS (MB) | bytes |',
              '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|']
    for c, r in rep['cases'].items():
        v = r['verdict']
        ok = 'identical (torch = HTTP = CLI)' if v.get('torch_vs_http') == 'identical' and v.get('http_vs_cli') == 'identical' else json.dumps(v)
        lines.append(f"| {c} | {r['params'] / 1e6:.0f}M | {r['torch_s']:.2f} | {r['http_s']:.3f} | **{r['ratio_http']:.1f}×** | {r['cli_s']:.3f} | "
                     f"{r['ratio_cli']:.1f}× | {r['torch_cpu_s']:.2f} | {r['http_server_cpu_s']:.2f} + {r['http_client_cpu_s']:.2f} | "
                     f"{r['cli_cpu_s']:.2f} | {r['torch_rss_mb']:.0f} | {r['server_rss_mb']:.0f} | {r['cli_rss_mb']:.0f} | {ok} |")
    lines += ['', 'Diagnostics (not results): the client\'s file write alone, and the same request with the body discarded.', '',
              '| model | file (MB) | writing it to tmpfs from memory, one process (s) | its CPU (s) | torch/(that write) | '
              'HTTP, body to /dev/null (s) | torch/(that) | HTTP to tmpfs (s) |',
              '|---|---:|---:|---:|---:|---:|---:|---:|']
    for c, r in rep['cases'].items():
        w = r['tmpfs_write']
        lines.append(f"| {c} | {w['bytes'] / 1e6:.0f} | {w['time_s']:.3f} | {w['cpu_s']:.2f} | {r['torch_s'] / w['time_s']:.1f}× | "
                     f"{r['http_discard_s']:.3f} | {r['torch_s'] / r['http_discard_s']:.1f}× | {r['http_s']:.3f} |")
    lines += ['', '| model | `--include` (one tensor) | CLI full (s) | CLI include (s) | **include / full** | CPU include (s) | bytes |',
              '|---|---|---:|---:|---:|---:|---|']
    for c, r in rep['cases'].items():
        i = r['include']
        lines.append(f"| {c} | `{i['tensor']}` | {r['cli_s']:.3f} | {i['time_s']:.3f} | **{100 * i['time_s'] / r['cli_s']:.1f}%** | "
                     f"{i['cpu_s']:.2f} | {r['verdict'].get('include')} (= the full run's tensor) |")
    return '\n'.join(lines)


if __name__ == '__main__':
    main()
