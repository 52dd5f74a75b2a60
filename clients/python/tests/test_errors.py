"""Error paths: what the tracer refuses, models the old exporter refused, and the service's problem+json errors."""
import http.server
import threading

import pytest

torch = pytest.importorskip("torch", reason="torch is not installed")
import torch.nn as nn  # noqa: E402
from mmengine.model import BaseModule  # noqa: E402

from conftest import assert_same_state_dict, reference_state_dict  # noqa: E402
from weightinit_client import (IncompleteResponseError, UnsupportedModuleError, WeightInitError,  # noqa: E402
                               initialize, initializers, plan, trace)


class Holder(BaseModule):
    def __init__(self, **children):
        super().__init__()
        for k, v in children.items():
            self.add_module(k, v)


class MyLinear(nn.Linear):
    pass


class Tied(BaseModule):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.head = nn.Linear(4, 10, bias=False)
        self.head.weight = self.emb.weight


class Overrides(BaseModule):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def init_weights(self):
        super().init_weights()
        nn.init.zeros_(self.fc.bias)


class RandomParam(BaseModule):
    def __init__(self):
        super().__init__()
        self.p = nn.Parameter(torch.randn(4))


@pytest.mark.parametrize("model", [
    lambda: Holder(a=Holder(enc=nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 2,
                                                      enable_nested_tensor=False))),
    lambda: Holder(x=MyLinear(2, 3)),
    lambda: Tied(),
    lambda: (lambda l: Holder(a=l, b=l))(nn.Linear(2, 2)),
    lambda: Holder(blk=Holder(o=Overrides())),
    lambda: Holder(r=RandomParam()),
    lambda: Holder(a=nn.Linear(2, 2), b=nn.Linear(2, 2).double()),
    lambda: Holder(lin=(lambda l: (setattr(l, "weight", nn.Parameter(torch.zeros(5, 5))), l)[1])(nn.Linear(2, 3))),
], ids=["transformer_encoder", "subclass", "tied", "shared_module", "overridden_init_weights", "random_parameter",
        "two_dtypes", "replaced_parameter"])
def test_what_the_structure_exporter_refused_is_exact_now(server, model):
    """The old exporter refused these (it read structure and could not see code); the tracer records the code."""
    body = trace(model, seed=3)
    _, want, _ = reference_state_dict(model, 3)
    assert_same_state_dict(initialize(server.url, body), want)


def test_lazy_modules_are_refused():
    with pytest.raises(UnsupportedModuleError, match="lazy|Uninitialized|uninitialized"):
        trace(lambda: Holder(lazy=nn.LazyLinear(3)))


def test_422_names_the_pointer(server):
    spec = {"seed": 0, "model": {"type": "Net", "children": {"c": {"type": "Conv2d", "in_channels": 1,
                                                                   "out_channels": 1}}}}
    with pytest.raises(WeightInitError) as e:
        initialize(server.url, spec)
    err = e.value
    assert err.status == 422
    assert err.pointer and err.pointer.startswith("/model/children/c")
    assert err.title and "kernel_size" in (err.detail or "")
    assert err.problem["status"] == 422
    with pytest.raises(WeightInitError) as e:
        plan(server.url, {"model": {"type": "Net", "children": {"c": {"type": "Conv2D", "in_channels": 1}}}})
    assert e.value.status == 422 and e.value.pointer == "/model/children/c/type" and "Conv2d" in e.value.detail


def test_traced_init_cfg_that_mmengine_rejects_raises_in_the_trace():
    class BadOverride(BaseModule):
        def __init__(self):
            super().__init__(init_cfg=dict(type="Normal", layer="Linear", override=dict(name="nope", std=1.0)))
            self.fc = nn.Linear(2, 2)

    with pytest.raises(Exception, match="override"):  # MMEngine's own error, raised while tracing init_weights
        trace(BadOverride, seed=0)


def test_400_and_404(server):
    with pytest.raises(WeightInitError) as e:
        initialize(server.url, '{"model": ')
    assert e.value.status == 400
    with pytest.raises(WeightInitError) as e:
        plan(server.url + "/nowhere", {"model": {"type": "Linear", "in_features": 1, "out_features": 1}})
    assert e.value.status == 404


def test_initializers(server):
    reg = initializers(server.url)
    text = str(reg)
    for name in ("Kaiming", "TruncNormal", "Pretrained", "MultiheadAttention", "LSTM"):
        assert name in text


class _ShortHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.write(b"x" * 100)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *a):
        pass


def test_short_stream_is_an_error(tmp_path):
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _ShortHandler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        out = tmp_path / "x.safetensors"
        with pytest.raises(IncompleteResponseError) as e:
            initialize(f"http://127.0.0.1:{httpd.server_port}", {"model": {"type": "Identity"}}, str(out))
        assert "100" in str(e.value)
        assert not out.exists()
    finally:
        httpd.shutdown()
        httpd.server_close()
