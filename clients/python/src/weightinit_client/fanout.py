"""Fan-out: one model's checkpoint fetched as N ``include`` requests over N connections (behind a Kubernetes Service
they spread over the replicas), written into one safetensors file byte-identical to the single request's.

The header is the server's own: ``POST /plan?header=safetensors`` returns, with the init report, the base64 of the
exact header bytes (8-byte length + JSON with every entry's ``data_offsets`` and the ``__metadata__`` init report)
that ``POST /initialize`` would send for the same body. The client never re-serializes JSON, so the file matches the
single request's bytes whatever the server's number formatting. Each group's response is a small safetensors file of
its tensors in state-dict order; its data section is exactly the bytes of those tensors in the full file, written at
their offset (``os.pwrite``), so groups finish in any order.
"""
from __future__ import annotations

import base64
import json
import os
import struct
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Mapping, Optional, Tuple

import requests

from .errors import IncompleteResponseError

__all__ = ["download_parallel", "escape_glob", "split_groups"]

_CHUNK = 1 << 20
_META = {"*": "[*]", "?": "[?]", "[": "[[]"}


def escape_glob(name: str) -> str:
    """An fnmatch glob matching exactly ``name``: ``[`` → ``[[]``, ``*`` → ``[*]``, ``?`` → ``[?]``."""
    return "".join(_META.get(c, c) for c in name)


def split_groups(sizes: List[int], n: int) -> List[Tuple[int, int]]:
    """Consecutive index ranges [lo, hi) of ``sizes`` (state-dict order), at most ``n`` of them, of about equal byte
    size: a group ends once the running total reaches its share of the whole."""
    total = sum(sizes)
    groups, lo, acc = [], 0, 0
    for i, s in enumerate(sizes):
        acc += s
        k = len(groups) + 1
        if k < n and acc * n >= total * k and i + 1 < len(sizes):
            groups.append((lo, i + 1))
            lo = i + 1
    if lo < len(sizes):
        groups.append((lo, len(sizes)))
    return groups


def _as_body(spec) -> Dict[str, Any]:
    if isinstance(spec, (bytes, str)):
        spec = json.loads(spec)
    return dict(spec)


def _post(session, url, route, body, timeout, stream):
    data = json.dumps(body, allow_nan=False, separators=(",", ":")).encode("utf-8")
    return session.post(url.rstrip("/") + route, data=data, timeout=timeout, stream=stream,
                        headers={"Content-Type": "application/json", "Accept-Encoding": "identity"})


def download_parallel(url: str, spec, path: str, parallel: int, *, timeout, session: Optional[requests.Session] = None):
    """Writes the checkpoint of ``spec`` to ``path`` from ``parallel`` concurrent ``include`` requests; returns a
    :class:`~weightinit_client.client.Download`. A body without a seed is pinned to the seed the first ``/plan``
    generated (so its report says ``seed_source: request``)."""
    from .client import Download, _raise_for_problem

    body = _as_body(spec)
    if body.get("format", "safetensors") != "safetensors":
        raise ValueError("parallel fan-out writes safetensors only (format must be safetensors)")
    s = session or requests.Session()
    if body.get("seed") is None:
        with _post(s, url, "/plan", body, timeout, False) as r:
            _raise_for_problem(r)
            body["seed"] = r.json()["seed"]
    with _post(s, url, "/plan?header=safetensors", body, timeout, False) as r:
        _raise_for_problem(r)
        report = r.json()
    header = base64.b64decode(report["safetensors_header"])
    (n,) = struct.unpack("<Q", header[:8])
    entries = [(k, v) for k, v in json.loads(header[8:8 + n].decode("utf-8")).items() if k != "__metadata__"]
    base = 8 + n
    sizes = [v["data_offsets"][1] - v["data_offsets"][0] for _, v in entries]
    total = base + sum(sizes)
    groups = split_groups(sizes, max(1, int(parallel)))

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.pwrite(fd, header, 0)
        os.ftruncate(fd, total)
        local = threading.local()

        def fetch(group: Tuple[int, int]) -> int:
            lo, hi = group
            if lo == hi:
                return 0
            sess = getattr(local, "session", None)
            if sess is None:
                sess = local.session = requests.Session()
            part = dict(body, include=[escape_glob(name) for name, _ in entries[lo:hi]])
            at = base + entries[lo][1]["data_offsets"][0]
            want = entries[hi - 1][1]["data_offsets"][1] - entries[lo][1]["data_offsets"][0]
            got = 0
            with _post(sess, url, "/initialize", part, timeout, True) as r:
                _raise_for_problem(r)
                pending = b""
                skip = None
                for chunk in r.raw.stream(_CHUNK, decode_content=False):
                    if skip is None:
                        pending += chunk
                        if len(pending) < 8:
                            continue
                        (m,) = struct.unpack("<Q", pending[:8])
                        skip = 8 + m
                        chunk, pending = pending, b""
                    if skip:
                        cut = min(skip, len(chunk))
                        chunk, skip = chunk[cut:], skip - cut
                        if skip and not chunk:
                            continue
                    if chunk:
                        if got + len(chunk) > want:
                            raise IncompleteResponseError(r.status_code, "Unexpected checkpoint size",
                                                          f"group {lo}:{hi} sent more than its {want} data bytes")
                        os.pwrite(fd, chunk, at + got)
                        got += len(chunk)
            if got != want:
                raise IncompleteResponseError(200, "Incomplete checkpoint",
                                              f"group {lo}:{hi} sent {got} of {want} data bytes")
            return got

        with ThreadPoolExecutor(max_workers=len(groups) or 1) as pool:
            list(pool.map(fetch, groups))
    except BaseException:
        os.close(fd)
        try:
            os.unlink(path)
        except OSError:
            pass
        raise
    os.close(fd)
    return Download(path=path, format="safetensors", size=total, seed=body["seed"], filename=None, headers={})
