"""Fixtures: the real weightinit binary on free ports, state dict comparison."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

try:
    import torch
except ImportError:  # every test module skips itself (pytest.importorskip) when torch is missing
    torch = None

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, HERE)


def find_binary():
    env = os.environ.get("WEIGHTINIT_BINARY")
    if env:
        if not os.access(env, os.X_OK):
            pytest.fail(f"WEIGHTINIT_BINARY={env} is not an executable file")
        return env
    for p in (os.path.join(REPO, ".build", "debug", "weightinit"),
              os.path.join(REPO, ".build", "release", "weightinit")):
        if os.access(p, os.X_OK):
            return p
    pytest.fail("no weightinit binary: set WEIGHTINIT_BINARY or build it (swift build) so that "
                f"{REPO}/.build/debug/weightinit or .build/release/weightinit exists")


class Server:
    def __init__(self, proc, url, ops_url, log_path):
        self.proc, self.url, self.ops_url, self.log_path = proc, url, ops_url, log_path

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()


@pytest.fixture(scope="session")
def server():
    binary = find_binary()
    tmp = tempfile.mkdtemp(prefix="weightinit-client-tests-")
    log_path = os.path.join(tmp, "server.log")
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [binary, "serve", "--host", "127.0.0.1", "--port", "0", "--ops-port", "0", "--log-format", "json",
         "--workers", "2", "--shutdown-grace", "2"],
        stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
    port = ops = None
    deadline = time.time() + 30
    while time.time() < deadline and port is None:
        if proc.poll() is not None:
            break
        with open(log_path, errors="replace") as f:
            for line in f:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if isinstance(rec, dict) and "port" in rec:
                    port, ops = int(rec["port"]), int(rec.get("ops_port", -1))
                    break
        time.sleep(0.05)
    if port is None:
        proc.kill()
        proc.wait()
        with open(log_path, errors="replace") as f:
            pytest.fail(f"{binary} serve did not report its port:\n{f.read()[-4000:]}")
    srv = Server(proc, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{ops}", log_path)
    try:
        yield srv
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


_ORDERED = {} if torch is None else {torch.float64: torch.int64, torch.float32: torch.int32, torch.float16: torch.int16,
            torch.bfloat16: torch.int16}


def ulp_distance(a, b):
    it = _ORDERED[a.dtype]
    bits = torch.iinfo(it).bits
    ia = a.contiguous().view(it).to(torch.int64)
    ib = b.contiguous().view(it).to(torch.int64)
    mask = (1 << (bits - 1)) - 1
    ia = torch.where(ia < 0, -(ia & mask), ia)
    ib = torch.where(ib < 0, -(ib & mask), ib)
    return (ia - ib).abs()


def assert_same_state_dict(got, want, loose=False):
    """Same keys in the same order, same dtypes and shapes, same bits. ``loose`` (TruncNormal): at most 2 ulp
    and at most 0.1% of a tensor's elements may differ (the service's erfinv is not MKL's)."""
    assert list(got.keys()) == list(want.keys())
    problems = []
    for k, w in want.items():
        g = got[k]
        if g.dtype != w.dtype or tuple(g.shape) != tuple(w.shape):
            problems.append(f"{k}: got {g.dtype}{list(g.shape)}, want {w.dtype}{list(w.shape)}")
            continue
        g, w = g.detach().contiguous().cpu(), w.detach().contiguous().cpu()
        if g.numel() == 0 or torch.equal(g.view(-1).view(torch.uint8) if g.dtype != torch.bool else g,
                                         w.view(-1).view(torch.uint8) if w.dtype != torch.bool else w):
            continue
        if loose and w.dtype in _ORDERED:
            d = ulp_distance(g, w)
            frac = float((d > 0).float().mean())
            if int(d.max()) <= 2 and frac <= 0.001:
                continue
            problems.append(f"{k}: {int((d > 0).sum())}/{d.numel()} elements differ, max {int(d.max())} ulp")
        else:
            problems.append(f"{k}: values differ (max abs diff {float((g.double() - w.double()).abs().max())})")
    assert not problems, "\n".join(problems)


def reference_state_dict(factory, seed, dtype=None):
    """In process: torch.manual_seed(seed); m = factory(); m.init_weights(); m.to(dtype).
    Returns (model, state_dict, init_info) where init_info is what MMEngine logged per parameter."""
    from collections import OrderedDict

    from mmengine.model import BaseModule
    captured = {}

    def dump(self):
        for name, param in self.named_parameters():
            captured[name] = self._params_init_info[param]["init_info"]

    original = BaseModule._dump_init_info
    BaseModule._dump_init_info = dump
    try:
        torch.manual_seed(seed)
        m = factory()
        if hasattr(m, "init_weights"):
            m.init_weights()
    finally:
        BaseModule._dump_init_info = original
    if dtype is not None:
        m.to(dtype)
    return m, OrderedDict((k, v.detach().clone()) for k, v in m.state_dict().items()), captured
