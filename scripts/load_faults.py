#!/usr/bin/env python3
"""Load and faults against the real server, 127.0.0.1 only, bounded in time and count.

    load_faults.py --binary .build/release/weightinit [--seconds 60] [--clients 64] [--json out.json]

Phase 1 (--seconds): --clients threads mixing POST /plan, small and large POST /initialize, GET /initializers
and bad requests from the corpus (Tests/Corpus/bad-inputs, each must get its recorded 4xx); meanwhile faults:
clients that disconnect mid-stream, read at 1 KB/s, connect and send nothing, or send half a request line;
and a probe thread timing GET /healthz on the ops port every 100 ms. Allowed answers: 200, the corpus' 4xx and
the designed 503 (queue full, with Retry-After). Streams must deliver exactly Content-Length bytes.
Then: RSS once the jobs have drained, against the baseline taken after warm-up.
Phase 2: SIGTERM while streams are in flight (plus a slow reader and idle connections): every stream that
had started must finish in full within the grace period, /readyz must turn 503, the exit status must be 0.

Prints a summary, writes it as JSON with --json, exits non-zero when anything failed.
"""
import argparse
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
CORPUS = os.path.join(ROOT, "Tests", "Corpus", "bad-inputs")

SMALL = json.dumps({"seed": 1, "model": {"type": "Net", "init_cfg": [{"type": "Kaiming", "layer": "Conv2d"}],
                    "children": {"conv": {"type": "Conv2d", "in_channels": 3, "out_channels": 16, "kernel_size": 3},
                                 "fc": {"type": "Linear", "in_features": 64, "out_features": 10}}}}).encode()
# ~16 MiB of normal_ draws.
LARGE = json.dumps({"seed": 2, "model": {"type": "Net", "children": {
    "emb": {"type": "Embedding", "num_embeddings": 4096, "embedding_dim": 1024}}}}).encode()
# ~64 MiB: long enough to be in flight when SIGTERM arrives.
HUGE = json.dumps({"seed": 3, "model": {"type": "Net", "children": {
    "emb": {"type": "Embedding", "num_embeddings": 16384, "embedding_dim": 1024}}}}).encode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_bytes(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def load_corpus():
    cases = []
    if not os.path.exists(os.path.join(CORPUS, "MANIFEST.tsv")):
        return cases
    for line in open(os.path.join(CORPUS, "MANIFEST.tsv")):
        if line.startswith("#"):
            continue
        name, method, path, ctype, status = line.rstrip("\n").split("\t")
        if name.startswith("checkpoint-") or name.startswith("pretrained-"):
            continue  # the load server has no --checkpoint-dir
        body = open(os.path.join(CORPUS, "cases", name + ".body"), "rb").read()
        cases.append((name, method, path, None if ctype == "-" else ctype, int(status), body))
    return cases


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.failures = []
        self.bytes = 0

    def count(self, key):
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1

    def fail(self, what):
        with self.lock:
            if len(self.failures) < 50:
                self.failures.append(what)
            self.counts["FAILED"] = self.counts.get("FAILED", 0) + 1


def request(port, method, path, body=None, ctype="application/json", timeout=120):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Content-Type": ctype} if ctype else {}
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        return r.status, r, data
    finally:
        conn.close()


def worker(port, stats, stop, corpus, rng):
    while not stop.is_set():
        roll = rng.random()
        try:
            if roll < 0.25:
                kind, (status, r, data) = "plan", request(port, "POST", "/plan", SMALL)
            elif roll < 0.5:
                kind, (status, r, data) = "init-small", request(port, "POST", "/initialize", SMALL)
            elif roll < 0.6:
                kind, (status, r, data) = "init-large", request(port, "POST", "/initialize", LARGE)
            elif roll < 0.7:
                kind, (status, r, data) = "registry", request(port, "GET", "/initializers", None, None)
            else:
                name, method, path, ctype, expected, body = rng.choice(corpus)
                kind = "bad"
                try:
                    status, r, data = request(port, method, path, body if body or method == "POST" else None, ctype)
                except (ConnectionError, BrokenPipeError):
                    if expected == 413:  # refused before the upload finished: the reset is the answer
                        stats.count("bad:413-reset")
                        continue
                    raise
                if status != expected and status != 503:
                    stats.fail(f"{name}: {status}, expected {expected}")
                    continue
            if status == 200 and kind.startswith("init"):
                length = int(r.getheader("Content-Length"))
                if len(data) != length:
                    stats.fail(f"{kind}: {len(data)} of {length} bytes")
                    continue
                with stats.lock:
                    stats.bytes += length
            elif status == 503:
                if r.getheader("Retry-After") is None:
                    stats.fail(f"{kind}: 503 without Retry-After")
            elif kind != "bad" and status != 200:
                stats.fail(f"{kind}: status {status} {data[:200]!r}")
                continue
            stats.count(f"{kind}:{status}")
        except Exception as e:  # noqa: BLE001
            stats.fail(f"{kind}: {type(e).__name__}: {e}")


def probe(ops_port, stats, stop, times):
    while not stop.is_set():
        t0 = time.monotonic()
        try:
            status, _, _ = request(ops_port, "GET", "/healthz", None, None, timeout=5)
            dt = time.monotonic() - t0
            times.append(dt)
            if status != 200:
                stats.fail(f"healthz {status}")
        except Exception as e:  # noqa: BLE001
            stats.fail(f"healthz: {e}")
        time.sleep(0.1)


def raw_post(port, body, rcvbuf=None):
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(30)
    s.connect(("127.0.0.1", port))
    s.sendall(b"POST /initialize HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
              % len(body) + body)
    return s


def fault_disconnect(port, stats, stop):
    while not stop.is_set():
        try:
            s = raw_post(port, LARGE)
            if not s.recv(65536).startswith(b"HTTP/1.1 200"):  # queue full (503): try again
                s.close()
                time.sleep(0.1)
                continue
            got = 0
            while got < 256 << 10:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += len(chunk)
            s.close()
            stats.count("fault:disconnect-mid-stream")
        except Exception as e:  # noqa: BLE001
            stats.fail(f"disconnect fault: {e}")
        time.sleep(0.2)


def fault_slow_reader(port, stats, stop, seconds=10):
    while not stop.is_set():
        try:
            s = raw_post(port, LARGE, rcvbuf=4096)
            if not s.recv(1024).startswith(b"HTTP/1.1 200"):  # queue full (503): try again
                s.close()
                time.sleep(0.1)
                continue
            end = time.monotonic() + seconds
            while time.monotonic() < end and not stop.is_set():
                if not s.recv(1024):
                    break
                time.sleep(1)  # 1 KB/s
            s.close()
            stats.count("fault:slow-reader-1KB/s")
        except Exception as e:  # noqa: BLE001
            stats.fail(f"slow reader: {e}")


def fault_idle(port, stats, stop, n=8):
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        socks.append(s)
    half = socket.create_connection(("127.0.0.1", port))
    half.sendall(b"POST /initialize HT")
    socks.append(half)
    stats.count("fault:idle-connections")
    stop.wait()
    for s in socks:
        s.close()


def start_server(binary, args, log):
    port, ops = free_port(), free_port()
    proc = subprocess.Popen([binary, "serve", "--port", str(port), "--ops-port", str(ops), "--log-format", "json",
                             "--log-level", "warning"] + args, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(200):
        try:
            if request(ops, "GET", "/healthz", None, None, timeout=1)[0] == 200:
                return proc, port, ops
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the server did not start")


def metric(ops, name):
    _, _, data = request(ops, "GET", "/metrics", None, None)
    for line in data.decode().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


def phase_load(args, summary):
    corpus = load_corpus()
    log = open(os.path.join(args.workdir, "load-server.log"), "w")
    # The corpus' limits (its body-too-large case is 300 KB).
    # The corpus' expected statuses assume BadInputCorpusTests' limits (a 2 GiB program is over a 1 GiB job limit).
    proc, port, ops = start_server(args.binary, ["--queue-depth", "16", "--max-body-bytes", "262144",
                                                 "--max-job-bytes", "1073741824"], log)
    stats = Stats()
    # Warm-up, then the baseline.
    for body in (SMALL, LARGE):
        request(port, "POST", "/initialize", body)
    time.sleep(0.5)
    baseline = rss_bytes(proc.pid)
    stop = threading.Event()
    times = []
    threads = [threading.Thread(target=worker, args=(port, stats, stop, corpus, random.Random(i)), daemon=True)
               for i in range(args.clients)]
    threads += [threading.Thread(target=probe, args=(ops, stats, stop, times), daemon=True),
                threading.Thread(target=fault_disconnect, args=(port, stats, stop), daemon=True),
                threading.Thread(target=fault_slow_reader, args=(port, stats, stop), daemon=True),
                threading.Thread(target=fault_idle, args=(port, stats, stop), daemon=True)]
    peak = 0
    t0 = time.monotonic()
    for t in threads:
        t.start()
    while time.monotonic() - t0 < args.seconds:
        time.sleep(0.5)
        peak = max(peak, rss_bytes(proc.pid))
        if proc.poll() is not None:
            stats.fail(f"the server exited during the load ({proc.returncode})")
            break
    stop.set()
    for t in threads:
        t.join(timeout=30)
    # Jobs drain, then memory.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (metric(ops, "winit_jobs_running") or 0) > 0:
        time.sleep(0.2)
    time.sleep(1)
    after = rss_bytes(proc.pid)
    alive = proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=60)
    times.sort()
    pct = (lambda q: times[min(len(times) - 1, int(q * len(times)))] * 1000 if times else None)
    summary["load"] = {
        "seconds": args.seconds, "clients": args.clients, "requests": stats.counts,
        "stream_bytes": stats.bytes, "failures": stats.failures,
        "healthz_ms": {"count": len(times), "p50": pct(0.5), "p99": pct(0.99), "max": times[-1] * 1000 if times else None},
        "rss_mib": {"baseline": baseline >> 20, "peak": peak >> 20, "after": after >> 20},
        "server_alive_after": alive, "exit_status": code,
    }
    ok = not stats.failures and alive and code == 0 and times and times[-1] < 0.1
    # Back near baseline: within 64 MiB (allocator caches, the registry, metrics histograms).
    ok = ok and after <= baseline + (64 << 20)
    return ok


def phase_sigterm(args, summary):
    log = open(os.path.join(args.workdir, "sigterm-server.log"), "w")
    grace = 15
    proc, port, ops = start_server(args.binary, ["--shutdown-grace", str(grace)], log)
    results = []
    lock = threading.Lock()

    def stream():
        try:
            status, r, data = request(port, "POST", "/initialize", LARGE, timeout=grace + 30)
            with lock:
                results.append((status, len(data), int(r.getheader("Content-Length") or -1)))
        except Exception as e:  # noqa: BLE001
            with lock:
                results.append(("error", str(e), 0))

    slow = {}
    gone = threading.Event()

    def slow_reader():
        # 1 KB/s on a 16 MiB stream: it cannot finish within the grace period and must be cut at its end.
        s = raw_post(port, LARGE, rcvbuf=4096)
        got, t0 = 0, time.monotonic()
        try:
            while True:
                chunk = s.recv(1024)
                if not chunk:
                    break
                got += len(chunk)
                if not gone.is_set():
                    time.sleep(1)
        except OSError:
            pass
        slow.update(bytes=got, seconds=round(time.monotonic() - t0, 1))
        s.close()

    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
    threads = [threading.Thread(target=stream, daemon=True) for _ in range(4)]
    threads.append(threading.Thread(target=slow_reader, daemon=True))
    for t in threads:
        t.start()
    # Wait until the streams are really flowing.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (metric(ops, "winit_jobs_running") or 0) < 5:
        time.sleep(0.05)
    running_at_signal = metric(ops, "winit_jobs_running")
    t_signal = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    ready_during = None
    for _ in range(40):
        try:
            ready_during = request(ops, "GET", "/readyz", None, None, timeout=2)[0]
            if ready_during == 503:
                break
        except OSError:
            break
        time.sleep(0.05)
    code = proc.wait(timeout=grace + 30)
    exit_seconds = time.monotonic() - t_signal
    gone.set()  # the slow reader drains what its socket still holds, then sees the cut
    for t in threads:
        t.join(timeout=10)
    for s in idle:
        s.close()
    complete = [r for r in results if r[0] == 200 and r[1] == r[2]]
    summary["sigterm"] = {
        "jobs_running_at_signal": running_at_signal, "streams": [list(r) for r in results], "complete": len(complete),
        "slow_reader": slow, "idle_connections": len(idle),
        "readyz_during_drain": ready_during, "exit_status": code, "exit_seconds": round(exit_seconds, 2),
        "grace_seconds": grace,
    }
    return (len(complete) == 4 and code == 0 and exit_seconds < grace + 5 and ready_during == 503
            and slow.get("bytes", 0) < 16 << 20)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", required=True)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--clients", type=int, default=64)
    p.add_argument("--json")
    p.add_argument("--workdir", default=None)
    args = p.parse_args()
    args.seconds = min(args.seconds, 60)
    import tempfile
    args.workdir = args.workdir or tempfile.mkdtemp(prefix="weightinit-load-")
    summary = {"binary": args.binary}
    ok_load = phase_load(args, summary)
    ok_term = phase_sigterm(args, summary)
    summary["passed"] = bool(ok_load and ok_term)
    text = json.dumps(summary, indent=1)
    print(text)
    if args.json:
        open(args.json, "w").write(text)
    print(("PASS" if summary["passed"] else "FAIL") + f" load ({'ok' if ok_load else 'FAILED'}), "
          f"SIGTERM drain ({'ok' if ok_term else 'FAILED'}); server logs in {args.workdir}")
    sys.exit(0 if summary["passed"] else 1)


if __name__ == "__main__":
    main()
