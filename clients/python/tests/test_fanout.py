"""Fan-out (``initialize(..., parallel=N)``): the file equals the single request's byte for byte."""
import time

import pytest

pytest.importorskip("torch")

import wi_models as M  # noqa: E402
from weightinit_client import initialize, trace  # noqa: E402
from weightinit_client.client import download  # noqa: E402
from weightinit_client.fanout import escape_glob, split_groups  # noqa: E402


def spec_body(seed=0, width=64, layers=6):
    children = {}
    for i in range(layers):
        children[f"fc[{i}]"] = {"type": "Linear", "in_features": width, "out_features": width}   # [ ] escaped
        children[f"norm*{i}"] = {"type": "LayerNorm", "normalized_shape": width}              # * escaped
        children[f"conv?{i}"] = {"type": "Conv2d", "in_channels": 3, "out_channels": 8, "kernel_size": 3}
    return {"seed": seed, "model": {"type": "Net", "children": children,
                                    "init_cfg": [{"type": "Kaiming", "layer": "Conv2d"},
                                                 {"type": "TruncNormal", "layer": "Linear", "std": 0.02}]}}


def read(p):
    with open(p, "rb") as f:
        return f.read()


def test_escape_and_split():
    assert escape_glob("a[0].b*c?d") == "a[[]0].b[*]c[?]d"
    import fnmatch
    for name in ["a[0].b*c?d", "x.y", "[*?]"]:
        assert fnmatch.fnmatchcase(name, escape_glob(name))
        assert not fnmatch.fnmatchcase(name + "x", escape_glob(name))
    assert split_groups([10, 10, 10, 10], 2) == [(0, 2), (2, 4)]
    assert split_groups([100, 1, 1, 1], 3) == [(0, 1), (1, 2), (2, 4)]
    assert split_groups([5], 4) == [(0, 1)]
    assert sum(hi - lo for lo, hi in split_groups(list(range(1, 50)), 7)) == 49


@pytest.mark.parametrize("parallel", [2, 3, 8])
def test_spec_body_is_byte_identical(server, tmp_path, parallel):
    body = spec_body()
    one = tmp_path / "one.safetensors"
    many = tmp_path / f"many{parallel}.safetensors"
    initialize(server.url, body, str(one))
    sd = initialize(server.url, body, str(many), parallel=parallel)
    assert read(one) == read(many)
    assert list(sd) == [t["name"] for t in sd.report["tensors"]]


@pytest.mark.parametrize("extra", [{}, {"rng": "counter"}, {"shard": {"dim": 0, "index": 1, "count": 2}},
                                   {"include": ["conv?0.*", "fc[[]1].*"]}])
def test_request_fields_pass_through(server, tmp_path, extra):
    body = dict(spec_body(seed=3), **extra)
    one, many = tmp_path / "one.safetensors", tmp_path / "many.safetensors"
    download(server.url, body, str(one))
    initialize(server.url, body, str(many), parallel=3)
    assert read(one) == read(many)


def test_program_body_is_byte_identical(server, tmp_path):
    body = trace(M.TinyTransformer, seed=1)
    one, many = tmp_path / "one.safetensors", tmp_path / "many.safetensors"
    download(server.url, body, str(one))
    initialize(server.url, body, str(many), parallel=4)
    assert read(one) == read(many)


def test_fanout_timing(server, tmp_path, capsys):
    """Measured, not asserted (the figure is in deploy/README.md): ~17 MB of float32 against parallel=1."""
    body = spec_body(seed=0, width=512, layers=16)
    times = {}
    for n in (1, 2, 4):
        p = tmp_path / f"t{n}.safetensors"
        t0 = time.perf_counter()
        if n == 1:
            download(server.url, body, str(p))
        else:
            initialize(server.url, body, str(p), parallel=n)
        times[n] = time.perf_counter() - t0
    size = (tmp_path / "t1.safetensors").stat().st_size
    assert read(tmp_path / "t1.safetensors") == read(tmp_path / "t4.safetensors")
    with capsys.disabled():
        print(f"\nfan-out {size / 1e6:.0f} MB: " + ", ".join(f"parallel={n}: {t:.2f} s" for n, t in times.items()))
