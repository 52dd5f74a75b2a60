"""HTTP client for the weightinit service: POST /initialize, POST /plan, GET /initializers."""
from __future__ import annotations

import json
import os
import queue
import re
import struct
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import requests

from .errors import IncompleteResponseError, WeightInitError

__all__ = ["initialize", "download", "plan", "initializers", "load_checkpoint", "Download", "StateDict",
           "DEFAULT_TIMEOUT"]

#: (connect, read) seconds; read is the longest silence between two chunks, not the whole transfer.
DEFAULT_TIMEOUT: Tuple[float, float] = (10.0, 300.0)
_CHUNK = 1 << 20
#: Received chunks that may wait for the file writer.
_QUEUED = 4


class StateDict(OrderedDict):
    """An ``OrderedDict[str, Tensor]`` in state_dict order, with what came along with it:
    ``report`` (the embedded init report, a dict), ``seed`` (the seed used, also for generated seeds),
    ``path`` (the checkpoint file, None when it was a temporary file) and ``format``."""

    report: Optional[Dict[str, Any]] = None
    seed: Optional[int] = None
    path: Optional[str] = None
    format: Optional[str] = None


@dataclass
class Download:
    """What :func:`download` wrote."""
    path: str
    format: str
    size: int
    seed: Optional[int]
    filename: Optional[str]
    headers: Dict[str, str] = field(default_factory=dict)


def _endpoint(url: str, route: str) -> str:
    return url.rstrip("/") + route


def _body(spec: Union[Mapping[str, Any], str, bytes]) -> bytes:
    if isinstance(spec, bytes):
        return spec
    if isinstance(spec, str):
        return spec.encode("utf-8")
    # allow_nan=False: NaN/Infinity are not JSON; fail here rather than as a 400 from the server
    return json.dumps(spec, allow_nan=False, separators=(",", ":")).encode("utf-8")


def _raise_for_problem(r: requests.Response) -> None:
    if r.status_code < 400:
        return
    problem = None
    try:
        text = r.text
    except Exception:  # pragma: no cover
        text = ""
    try:
        problem = json.loads(text) if text else None
    except ValueError:
        problem = None
    retry_after = None
    ra = r.headers.get("Retry-After")
    if ra is not None:
        try:
            retry_after = float(ra)
        except ValueError:
            retry_after = None
    if isinstance(problem, dict):
        raise WeightInitError(problem.get("status", r.status_code), problem.get("title") or r.reason,
                              problem.get("detail"), problem.get("pointer"), type=problem.get("type"),
                              problem=problem, retry_after=retry_after)
    raise WeightInitError(r.status_code, r.reason, text.strip() or None, None, retry_after=retry_after)


def _post(url: str, route: str, spec, timeout, session: Optional[requests.Session], stream: bool):
    s = session or requests
    return s.post(_endpoint(url, route), data=_body(spec), timeout=timeout, stream=stream,
                  headers={"Content-Type": "application/json", "Accept-Encoding": "identity"})


def _format_of(r: requests.Response, spec) -> Tuple[str, Optional[str]]:
    filename = None
    cd = r.headers.get("Content-Disposition", "")
    m = re.search(r'filename\*?=(?:UTF-8\'\')?"?([^";]+)"?', cd)
    if m:
        filename = os.path.basename(m.group(1))
    if filename and filename.endswith((".pth", ".pt")):
        return "pytorch", filename
    if filename and filename.endswith(".safetensors"):
        return "safetensors", filename
    if isinstance(spec, Mapping) and spec.get("format") in ("safetensors", "pytorch"):
        return spec["format"], filename
    return "safetensors", filename


def _write_behind(f, chunks) -> int:
    """Writes ``chunks`` to ``f`` on a second thread while the next ones arrive, so receiving and writing the file
    overlap (each costs about as much CPU as the other for a large checkpoint); at most ``_QUEUED`` chunks wait in
    memory. Returns the bytes received; re-raises the first write error once the stream is drained."""
    q: "queue.Queue[Optional[bytes]]" = queue.Queue(maxsize=_QUEUED)
    errors: List[BaseException] = []

    def writer() -> None:
        while True:
            chunk = q.get()
            if chunk is None:
                return
            if not errors:
                try:
                    f.write(chunk)
                except BaseException as e:  # reported by the receiving thread
                    errors.append(e)

    t = threading.Thread(target=writer, name="weightinit-writer", daemon=True)
    t.start()
    n = 0
    try:
        for chunk in chunks:
            if errors:
                break
            q.put(chunk)
            n += len(chunk)
    finally:
        q.put(None)
        t.join()
    if errors:
        raise errors[0]
    return n


def download(url: str, spec, path: Optional[str] = None, *, timeout=DEFAULT_TIMEOUT,
             session: Optional[requests.Session] = None) -> Download:
    """POST ``spec`` to ``url``/initialize and stream the checkpoint to ``path`` (a new temporary file when
    None; the caller owns it). Checks the byte count against Content-Length. Raises
    :class:`WeightInitError` on a problem response, :class:`IncompleteResponseError` on a short stream."""
    with _post(url, "/initialize", spec, timeout, session, stream=True) as r:
        _raise_for_problem(r)
        fmt, filename = _format_of(r, spec)
        expected = r.headers.get("Content-Length")
        expected_n = int(expected) if expected is not None and expected.isdigit() else None
        if path is None:
            fd, path = tempfile.mkstemp(prefix="weightinit-", suffix=".pth" if fmt == "pytorch" else ".safetensors")
            f = os.fdopen(fd, "wb")
        else:
            f = open(path, "wb")
        n = 0
        try:
            with f:
                try:
                    n = _write_behind(f, r.raw.stream(_CHUNK, decode_content=False))
                except Exception as e:  # urllib3 raises on a connection cut short of Content-Length
                    raise IncompleteResponseError(
                        r.status_code, "Incomplete checkpoint",
                        f"the stream broke after {n} of {expected_n if expected_n is not None else '?'} bytes: {e}"
                    ) from e
            if expected_n is None:
                raise IncompleteResponseError(r.status_code, "No Content-Length",
                                              "the service sent no Content-Length; the file cannot be verified")
            if n != expected_n:
                raise IncompleteResponseError(r.status_code, "Incomplete checkpoint",
                                              f"received {n} bytes, Content-Length said {expected_n}")
        except BaseException:
            try:
                os.unlink(path)
            except OSError:
                pass
            raise
        seed = r.headers.get("X-Init-Seed")
        try:
            seed_n = int(seed) if seed is not None else None
        except ValueError:
            seed_n = None
        return Download(path=path, format=fmt, size=n, seed=seed_n, filename=filename, headers=dict(r.headers))


def _safetensors_header(path: str) -> Tuple["OrderedDict[str, Any]", Dict[str, str]]:
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n), object_pairs_hook=OrderedDict)
    meta = header.pop("__metadata__", None) or {}
    return header, meta


def load_checkpoint(path: str, format: Optional[str] = None) -> StateDict:
    """Load a checkpoint the service wrote, in state_dict order, with its embedded init report.
    Tensors are torch tensors when torch is importable (numpy arrays otherwise, safetensors only)."""
    if format is None:
        format = "pytorch" if path.endswith((".pth", ".pt")) else "safetensors"
    out = StateDict()
    out.format = format
    if format == "safetensors":
        header, meta = _safetensors_header(path)
        try:
            from safetensors.torch import load_file
        except ImportError:  # torch not installed
            from safetensors.numpy import load_file
        tensors = load_file(path)
        # the header's key order is the state_dict order (load_file's dict is sorted by name)
        for k in header:
            out[k] = tensors[k]
        raw = meta.get("init_report")
        out.report = json.loads(raw) if isinstance(raw, str) else raw
    elif format == "pytorch":
        import zipfile

        import torch
        sd = torch.load(path, weights_only=True, map_location="cpu")
        for k, v in sd.items():
            out[k] = v
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                if name.endswith("init_report.json"):
                    out.report = json.loads(z.read(name))
                    break
    else:
        raise ValueError(f"unknown checkpoint format {format!r}")
    if isinstance(out.report, dict):
        out.seed = out.report.get("seed")
    return out


def initialize(url: str, spec, path: Optional[str] = None, *, timeout=DEFAULT_TIMEOUT,
               session: Optional[requests.Session] = None, parallel: int = 1) -> StateDict:
    """POST ``spec`` (a request body dict, or its JSON text) to ``url``/initialize and return the state dict.

    The checkpoint is streamed to ``path`` (kept) or to a temporary file (deleted after loading), its size is
    checked against Content-Length, and it is loaded in state_dict order: safetensors through
    ``safetensors.torch.load_file`` (ordered by the file header), the PyTorch zip through
    ``torch.load(weights_only=True)``. The result is a :class:`StateDict` (an ``OrderedDict``) carrying
    ``.report`` and ``.seed``. Errors: :class:`WeightInitError` with the problem+json fields.
    ``parallel=N`` (N > 1) fetches the tensors as N ``include`` requests over N connections and writes the same
    safetensors file as one request (:mod:`weightinit_client.fanout`).
    """
    if parallel > 1:
        from .fanout import download_parallel
        if path is None:
            fd, tmp = tempfile.mkstemp(prefix="weightinit-", suffix=".safetensors")
            os.close(fd)
        d = download_parallel(url, spec, path or tmp, parallel, timeout=timeout, session=session)
    else:
        d = download(url, spec, path, timeout=timeout, session=session)
    try:
        sd = load_checkpoint(d.path, d.format)
    finally:
        if path is None:
            try:
                os.unlink(d.path)
            except OSError:
                pass
    sd.path = path
    if d.seed is not None:
        sd.seed = d.seed
    return sd


def plan(url: str, spec, *, timeout=DEFAULT_TIMEOUT, session: Optional[requests.Session] = None) -> Dict[str, Any]:
    """POST ``spec`` to ``url``/plan: the init report, nothing generated (validation, dry run)."""
    with _post(url, "/plan", spec, timeout, session, stream=False) as r:
        _raise_for_problem(r)
        return r.json(object_pairs_hook=OrderedDict)


def initializers(url: str, *, timeout=DEFAULT_TIMEOUT, session: Optional[requests.Session] = None) -> Dict[str, Any]:
    """GET ``url``/initializers: the initializer registry and the supported module types."""
    s = session or requests
    with s.get(_endpoint(url, "/initializers"), timeout=timeout) as r:
        _raise_for_problem(r)
        return r.json(object_pairs_hook=OrderedDict)
