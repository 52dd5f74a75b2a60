"""Python client for the weightinit service.

    from weightinit_client import trace, initialize
    body = trace(torchvision.models.resnet50, seed=0)   # records the constructor on the meta device (needs torch)
    state_dict = initialize("http://127.0.0.1:8080", body)

The tracer needs torch; the HTTP functions only need requests and safetensors.
"""
from .client import DEFAULT_TIMEOUT, Download, StateDict, download, initialize, initializers, load_checkpoint, plan
from .errors import IncompleteResponseError, UnsupportedModuleError, WeightInitError
from .fanout import download_parallel

__version__ = "0.1.0"

__all__ = ["trace", "trace_program", "spec_from_module", "replay", "mkl_path", "initialize", "download",
           "plan", "initializers", "load_checkpoint", "StateDict", "Download", "DEFAULT_TIMEOUT",
           "WeightInitError", "IncompleteResponseError", "UnsupportedModuleError", "download_parallel", "__version__"]

_LAZY = {"trace": "tracing", "trace_program": "tracing", "spec_from_module": "tracing", "replay": "replayer",
         "mkl_path": "mkl"}


def __getattr__(name):  # the tracer imports torch: only on first use
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'weightinit_client' has no attribute {name!r}")
