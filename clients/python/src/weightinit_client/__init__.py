"""Python client for the weightinit service.

    from weightinit_client import spec_from_module, initialize
    spec = spec_from_module(model, seed=0)            # needs torch (and mmengine for BaseModule models)
    state_dict = initialize("http://127.0.0.1:8080", spec)

The exporter needs torch; the HTTP functions only need requests and safetensors.
"""
from .client import DEFAULT_TIMEOUT, Download, StateDict, download, initialize, initializers, load_checkpoint, plan
from .errors import IncompleteResponseError, UnsupportedModuleError, WeightInitError

__version__ = "0.1.0"

__all__ = ["spec_from_module", "register_init_weights", "LEAF_TYPES", "ExportWarning", "initialize", "download",
           "plan", "initializers", "load_checkpoint", "StateDict", "Download", "DEFAULT_TIMEOUT",
           "WeightInitError", "IncompleteResponseError", "UnsupportedModuleError", "__version__"]

_LAZY = {"spec_from_module", "register_init_weights", "LEAF_TYPES", "ExportWarning", "DECLARATION_ATTRIBUTE"}


def __getattr__(name):  # the exporter imports torch: only on first use
    if name in _LAZY:
        from . import export
        return getattr(export, name)
    raise AttributeError(f"module 'weightinit_client' has no attribute {name!r}")
