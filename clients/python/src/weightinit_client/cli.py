"""``python -m weightinit_client``: trace a model factory into a request body, or run a body through a server.

    python -m weightinit_client export torchvision.models:resnet50 --trace --seed 0 > body.json
    python -m weightinit_client init http://127.0.0.1:8080 body.json -o out.safetensors
    python -m weightinit_client plan http://127.0.0.1:8080 spec.json
    python -m weightinit_client initializers http://127.0.0.1:8080
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections import OrderedDict

from .errors import UnsupportedModuleError, WeightInitError


def _load_object(ref: str):
    if ":" not in ref:
        raise SystemExit(f"error: expected module:Class, got {ref!r}")
    mod_name, _, attr = ref.partition(":")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj = importlib.import_module(mod_name)
    except ImportError as e:
        raise SystemExit(f"error: cannot import {mod_name}: {e}")
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise SystemExit(f"error: {mod_name} has no attribute {attr!r}")
    return obj


def _read_spec(path: str):
    if path == "-":
        return json.load(sys.stdin, object_pairs_hook=OrderedDict)
    with open(path, encoding="utf-8") as f:
        return json.load(f, object_pairs_hook=OrderedDict)


def _cmd_export(a) -> int:
    from .tracing import trace
    factory = _load_object(a.target)
    try:
        args = json.loads(a.args) if a.args else []
        kwargs = json.loads(a.kwargs) if a.kwargs else {}
    except ValueError as e:
        raise SystemExit(f"error: --args/--kwargs is not JSON: {e}")
    if not isinstance(kwargs, dict) or not isinstance(args, list):
        raise SystemExit("error: --args must be a JSON array and --kwargs a JSON object")
    init_weights = {"auto": None, "yes": True, "no": False}[a.init_weights]
    try:
        body = trace(factory, *args, seed=a.seed, init_weights=init_weights, dtype=a.dtype, format=a.format, **kwargs)
    except UnsupportedModuleError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    text = json.dumps(body, indent=a.indent, allow_nan=False) + "\n"
    if a.output and a.output != "-":
        with open(a.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


def _cmd_init(a) -> int:
    from .client import download
    spec = _read_spec(a.spec)
    out = a.output
    if out is None:
        fmt = spec.get("format", "safetensors") if isinstance(spec, dict) else "safetensors"
        out = "out.pth" if fmt == "pytorch" else "out.safetensors"
    d = download(a.url, spec, out, timeout=(a.connect_timeout, a.timeout))
    print(f"{d.path}: {d.size} bytes, {d.format}, seed {d.seed}", file=sys.stderr)
    return 0


def _cmd_plan(a) -> int:
    from .client import plan
    report = plan(a.url, _read_spec(a.spec), timeout=(a.connect_timeout, a.timeout))
    json.dump(report, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


def _cmd_initializers(a) -> int:
    from .client import initializers
    json.dump(initializers(a.url, timeout=(a.connect_timeout, a.timeout)), sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m weightinit_client", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    e = sub.add_parser("export", help="trace module:factory (its constructor and init_weights) and print the request "
                                      "body as JSON")
    e.add_argument("target", help="module:factory (or module:Class), imported with the current folder on sys.path")
    e.add_argument("--trace", action="store_true", help="record the factory's operations (the only export there is)")
    e.add_argument("--args", help="positional arguments of the factory, a JSON array")
    e.add_argument("--kwargs", help="keyword arguments of the factory, a JSON object")
    e.add_argument("--init-weights", choices=["auto", "yes", "no"], default="auto",
                   help="call init_weights() after construction (auto: for MMEngine BaseModules)")
    e.add_argument("--seed", type=int)
    e.add_argument("--dtype", choices=["float32", "float16", "bfloat16", "float64"])
    e.add_argument("--format", choices=["safetensors", "pytorch"])
    e.add_argument("--indent", type=int, default=1)
    e.add_argument("-o", "--output", help="write here instead of stdout")
    e.set_defaults(func=_cmd_export)

    for name, func, helptext in (("init", _cmd_init, "POST the spec to URL/initialize and save the checkpoint"),
                                 ("plan", _cmd_plan, "POST the spec to URL/plan and print the init report")):
        c = sub.add_parser(name, help=helptext)
        c.add_argument("url", help="the service, e.g. http://127.0.0.1:8080")
        c.add_argument("spec", help="the request body (JSON file, - for stdin)")
        if name == "init":
            c.add_argument("-o", "--output", help="checkpoint path (default out.safetensors / out.pth)")
        c.add_argument("--timeout", type=float, default=300.0, help="read timeout in seconds (default 300)")
        c.add_argument("--connect-timeout", type=float, default=10.0)
        c.set_defaults(func=func)

    i = sub.add_parser("initializers", help="GET URL/initializers")
    i.add_argument("url")
    i.add_argument("--timeout", type=float, default=60.0)
    i.add_argument("--connect-timeout", type=float, default=10.0)
    i.set_defaults(func=_cmd_initializers)
    return p


def main(argv=None) -> int:
    a = build_parser().parse_args(argv)
    try:
        return a.func(a)
    except UnsupportedModuleError as e:
        print(f"error: cannot export: {e}", file=sys.stderr)
        return 1
    except WeightInitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # requests' connection errors and the like
        import requests
        if isinstance(e, requests.RequestException):
            print(f"error: {e}", file=sys.stderr)
            return 1
        raise
