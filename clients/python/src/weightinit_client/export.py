"""Export a live ``torch.nn.Module`` as a weightinit request body.

The spec describes *construction*: ``torch.manual_seed(seed); model = build(spec); model.init_weights();
model.to(dtype)``. Nothing here reads weight values back except to recognise constant-filled custom
parameters and buffers; see README.md ("What the exporter assumes").
"""
from __future__ import annotations

import inspect
import math
import numbers
import warnings
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Mapping, Optional, Union

import torch
import torch.nn as nn

from .errors import UnsupportedModuleError

try:  # MMEngine is optional: without it no module can be a BaseModule.
    from mmengine.model import BaseModule as _BaseModule
except Exception:  # pragma: no cover - depends on the environment
    _BaseModule = None

__all__ = ["spec_from_module", "register_init_weights", "LEAF_TYPES", "DECLARATION_ATTRIBUTE",
           "ExportWarning"]

#: The class attribute (or instance attribute) a module may carry to declare what the exporter cannot read:
#: ``{"init_weights": [steps...], "parameters": {name: tensor initializer}, "buffers": {name: fill}}``,
#: or a callable ``(module) -> such a dict``.
DECLARATION_ATTRIBUTE = "__weightinit__"


class ExportWarning(UserWarning):
    """Something was exported faithfully but probably not as the model's author intended."""


# torch.nn classes the service knows as leaves (GET /initializers lists the same set).
_LEAF_NAMES = [
    "Linear", "Bilinear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
    "ConvTranspose3d", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "InstanceNorm1d",
    "InstanceNorm2d", "InstanceNorm3d", "GroupNorm", "LayerNorm", "RMSNorm", "Embedding", "EmbeddingBag",
    "MultiheadAttention", "RNN", "LSTM", "GRU", "PReLU",
    # parameter-free
    "ReLU", "SiLU", "Hardswish", "Mish", "ReLU6", "SELU", "Hardsigmoid", "Sigmoid", "Tanh", "Softsign",
    "Tanhshrink", "GELU", "LeakyReLU", "ELU", "Softplus", "Hardtanh", "Softmax", "LogSoftmax", "Softmin",
    "GLU", "Identity", "Flatten", "Unflatten", "Upsample", "PixelShuffle", "Dropout", "Dropout1d",
    "Dropout2d", "Dropout3d", "AlphaDropout", "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d",
    "AvgPool2d", "AvgPool3d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d",
]
#: name -> torch.nn class, for every leaf type the exporter emits (exact classes only, never subclasses).
LEAF_TYPES: Dict[str, type] = {n: getattr(nn, n) for n in _LEAF_NAMES if hasattr(nn, n)}
_LEAF_BY_CLASS = {cls: name for name, cls in LEAF_TYPES.items()}

# torch.nn containers whose construction is exactly "children in registration order" (no draws of their own,
# no deep copies, no re-initialization afterwards): exported as containers of their class name.
_TORCH_CONTAINERS = {nn.Sequential, nn.ModuleList, nn.ModuleDict, nn.ParameterList, nn.ParameterDict}
for _n in ("TransformerEncoderLayer", "TransformerDecoderLayer"):
    if hasattr(nn, _n):
        _TORCH_CONTAINERS.add(getattr(nn, _n))

_NORMS_WITH_BIAS_FLAG = ("BatchNorm", "InstanceNorm", "SyncBatchNorm", "GroupNorm", "LayerNorm")
_RNN_ARGS = [("input_size", None), ("hidden_size", None), ("num_layers", 1), ("bias", True),
             ("batch_first", False), ("dropout", 0.0), ("bidirectional", False)]
_COLLAPSIBLE = {"kernel_size", "stride", "padding", "dilation", "output_padding"}
_SKIP_ARGS = {"self", "device", "dtype", "process_group", "_weight", "_freeze"}
_DEPRECATED_ALIASES = {"Hardtanh": {"min_value", "max_value"}}  # stored as min_val / max_val
_REQUIRED = inspect.Parameter.empty

_SPEC_DTYPES = {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16",
                torch.float64: "float64", torch.int64: "int64", torch.int32: "int32", torch.bool: "bool"}
_REQUEST_DTYPES = {"float32", "float16", "bfloat16", "float64"}

_registry: Dict[type, Any] = {}


def register_init_weights(cls: type, declaration: Union[Mapping[str, Any], List[Any], Callable[[nn.Module], Any]]):
    """Declare what ``cls.init_weights`` does, for classes you cannot annotate with ``__weightinit__``.

    ``declaration`` is a list of ``init_weights`` steps (spec format), a dict like the ``__weightinit__``
    attribute (``{"init_weights": [...], "parameters": {...}, "buffers": {...}}``), or a callable taking the
    module instance and returning either. The steps mean: ``BaseModule.init_weights(self)`` (own init_cfg,
    then the children's ``init_weights``), then these steps, in order.
    """
    _registry[cls] = declaration


def spec_from_module(module: nn.Module, *, seed: Optional[int] = None, dtype: Optional[str] = None,
                     format: Optional[str] = None) -> Dict[str, Any]:
    """Return the request body (``{"model": ..., "seed"?, "dtype"?, "format"?}``) for ``module``.

    Raises :class:`UnsupportedModuleError` naming the module path when something cannot be expressed.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"spec_from_module needs a torch.nn.Module, got {type(module).__name__}")
    if dtype is not None and dtype not in _REQUEST_DTYPES:
        raise ValueError(f"dtype must be one of {sorted(_REQUEST_DTYPES)}, got {dtype!r}")
    if format is not None and format not in ("safetensors", "pytorch"):
        raise ValueError(f"format must be 'safetensors' or 'pytorch', got {format!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    exporter = _Exporter()
    exporter.check_sharing(module)
    inferred = exporter.infer_dtype(module)
    body: Dict[str, Any] = OrderedDict()
    body["model"] = exporter.node(module, "", live=_has_init_weights(module))
    if seed is not None:
        body["seed"] = int(seed)
    out_dtype = dtype or inferred
    if out_dtype and out_dtype != "float32":
        body["dtype"] = out_dtype
    if format is not None:
        body["format"] = format
    return body


# --------------------------------------------------------------------------------------------------------------
# helpers


def _is_base_module(m: nn.Module) -> bool:
    return _BaseModule is not None and isinstance(m, _BaseModule)


def _init_weights_owner(cls: type) -> Optional[type]:
    """The class in the MRO that defines ``init_weights`` (None: the module has none)."""
    for klass in cls.__mro__:
        if "init_weights" in vars(klass):
            return klass
    return None


def _has_init_weights(m: nn.Module) -> bool:
    return callable(getattr(m, "init_weights", None))


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _json_value(v: Any, path: str, what: str) -> Any:
    """Plain JSON for a constructor argument or an init_cfg value; exact for floats."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        f = float(v)
        if not math.isfinite(f):
            raise UnsupportedModuleError(path, f"{what} is {f}, which JSON cannot carry")
        return f
    if isinstance(v, torch.Size):
        return [int(x) for x in v]
    if isinstance(v, (list, tuple)):
        return [_json_value(x, path, what) for x in v]
    if isinstance(v, Mapping):
        out = OrderedDict()
        for k, x in v.items():
            if not isinstance(k, str):
                raise UnsupportedModuleError(path, f"{what} has a non-string key {k!r}")
            out[k] = _json_value(x, path, f"{what}.{k}")
        return out
    if isinstance(v, type):  # e.g. init_cfg type=KaimingInit
        name = v.__name__
        return name[:-4] if name.endswith("Init") and len(name) > 4 else name
    raise UnsupportedModuleError(path, f"{what} = {v!r} ({type(v).__name__}) cannot be written as JSON")


def _same(value: Any, default: Any) -> bool:
    if default is _REQUIRED:
        return False
    if isinstance(value, bool) or isinstance(default, bool):
        return isinstance(value, bool) and isinstance(default, bool) and value == default
    if isinstance(value, (list, tuple)) or isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple)) and isinstance(default, (list, tuple)) and list(value) == list(default)
    try:
        return type(value) in (type(default), int, float) and value == default
    except Exception:
        return False


def _constant_value(t: torch.Tensor) -> Optional[Any]:
    """The single value every element holds, or None (empty tensors: 0)."""
    if t.numel() == 0:
        return 0
    flat = t.detach().reshape(-1)
    first = flat[0]
    if not bool((flat == first).all()):
        return None
    if t.is_floating_point() and torch.isnan(first):
        return None
    if t.dtype == torch.bool:
        return int(bool(first))
    if t.is_floating_point():
        v = float(first)
        if v == 0.0 and math.copysign(1.0, v) < 0:
            return None  # -0.0 cannot be told apart from 0 by Constant{val: 0}
        return v
    return int(first)


class _Exporter:
    def __init__(self):
        self.floating_dtype: Optional[torch.dtype] = None

    # -- whole-model checks ------------------------------------------------------------------------------------

    def check_sharing(self, root: nn.Module) -> None:
        seen_modules: Dict[int, str] = {}
        seen_tensors: Dict[int, str] = {}

        def walk(m: nn.Module, path: str):
            if id(m) in seen_modules:
                raise UnsupportedModuleError(
                    path, f"is the same module object as '{seen_modules[id(m)] or '<root>'}' (shared modules "
                          "cannot be expressed: the service would build two independent copies)")
            seen_modules[id(m)] = path
            for kind, tensors in (("parameter", m._parameters), ("buffer", m._buffers)):
                for name, t in tensors.items():
                    if t is None:
                        continue
                    full = _join(path, name)
                    if id(t) in seen_tensors:
                        raise UnsupportedModuleError(
                            path, f"{kind} '{name}' is tied to '{seen_tensors[id(t)]}' (tied/shared tensors "
                                  "cannot be expressed)")
                    seen_tensors[id(t)] = full
            for name, child in m._modules.items():
                if child is not None:
                    walk(child, _join(path, name))

        walk(root, "")

    def infer_dtype(self, root: nn.Module) -> Optional[str]:
        """The request dtype: the one floating dtype every parameter and persistent buffer has."""
        found = OrderedDict()
        for name, t in root.state_dict(keep_vars=True).items():
            if t is not None and t.is_floating_point():
                found.setdefault(t.dtype, name)
        if not found:
            return None
        if len(found) > 1:
            desc = ", ".join(f"{_SPEC_DTYPES.get(d, str(d))} ('{n}')" for d, n in found.items())
            raise UnsupportedModuleError(
                "", f"floating tensors have several dtypes ({desc}); a spec is generated in float32 and cast as a "
                    "whole by model.to(dtype): pass dtype= to choose the output dtype")
        d = next(iter(found))
        if d not in _SPEC_DTYPES or d in (torch.int64, torch.int32, torch.bool):
            raise UnsupportedModuleError("", f"floating dtype {d} is not one of float32/float16/bfloat16/float64")
        self.floating_dtype = d
        return _SPEC_DTYPES[d]

    # -- nodes --------------------------------------------------------------------------------------------------

    def node(self, m: nn.Module, path: str, live: bool) -> Dict[str, Any]:
        """``live``: MMEngine would call this module's ``init_weights`` (from the root's)."""
        from torch.nn.modules.lazy import LazyModuleMixin
        if isinstance(m, LazyModuleMixin):
            raise UnsupportedModuleError(path, f"{type(m).__name__} is a lazy module; its shapes are unknown "
                                               "until the first forward (LazyLinear & co. are not supported)")
        for name, p in m._parameters.items():
            if isinstance(p, nn.parameter.UninitializedParameter):
                raise UnsupportedModuleError(path, f"parameter '{name}' is uninitialized (lazy)")
        cls = type(m)
        if cls in _LEAF_BY_CLASS:
            return self.leaf(m, path, _LEAF_BY_CLASS[cls])
        for leaf_cls, leaf_name in _LEAF_BY_CLASS.items():
            if isinstance(m, leaf_cls) and leaf_cls is not nn.Identity:
                raise UnsupportedModuleError(
                    path, f"{cls.__name__} subclasses torch.nn.{leaf_name}; only the torch.nn classes themselves "
                          "can be leaves (parametrized or customized layers are not expressible)")
        if cls.__module__.startswith("torch.") and cls not in _TORCH_CONTAINERS:
            raise UnsupportedModuleError(
                path, f"torch.nn.{cls.__name__} is not a leaf type the service knows, and its construction is not "
                      "plain 'children in order' (supported leaves: weightinit_client.LEAF_TYPES)")
        return self.container(m, path, live)

    def leaf(self, m: nn.Module, path: str, name: str) -> Dict[str, Any]:
        cls = LEAF_TYPES[name]
        kwargs = OrderedDict()
        for arg, default in self._leaf_signature(cls, name, path):
            value = self._leaf_argument(m, name, arg, path)
            if name.startswith("Conv") and arg in _COLLAPSIBLE and isinstance(value, (tuple, list)) and value \
                    and all(x == value[0] for x in value) and not isinstance(value[0], str):
                value = value[0]
            if default is not _REQUIRED and _same(value, default):
                continue
            kwargs[arg] = _json_value(value, path, f"argument '{arg}' of {name}")
        self._verify_leaf(m, cls, name, kwargs, path)
        node = OrderedDict(type=name)
        node.update(kwargs)
        return node

    @staticmethod
    def _leaf_signature(cls: type, name: str, path: str):
        if name in ("RNN", "LSTM", "GRU"):
            extra = {"RNN": [("nonlinearity", "tanh")], "LSTM": [("proj_size", 0)], "GRU": []}[name]
            return _RNN_ARGS + extra
        if name == "Identity":
            return []
        try:
            params = inspect.signature(cls.__init__).parameters.values()
        except (TypeError, ValueError) as e:  # pragma: no cover
            raise UnsupportedModuleError(path, f"cannot read the signature of torch.nn.{name}: {e}")
        skip = _SKIP_ARGS | _DEPRECATED_ALIASES.get(name, set())
        return [(p.name, p.default) for p in params
                if p.name not in skip and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]

    @staticmethod
    def _leaf_argument(m: nn.Module, name: str, arg: str, path: str) -> Any:
        if arg == "bias":
            if name == "MultiheadAttention":
                return m.in_proj_bias is not None
            if name in ("RNN", "LSTM", "GRU"):
                return bool(m.bias)
            if name.startswith(_NORMS_WITH_BIAS_FLAG):
                # bias=False only means something with an affine weight; without one torch registers neither
                return not (getattr(m, "weight", None) is not None and m.bias is None)
            return m.bias is not None
        if name == "MultiheadAttention":
            if arg == "add_bias_kv":
                return m.bias_k is not None
            if arg in ("kdim", "vdim"):
                v = getattr(m, arg)
                return None if v == m.embed_dim else v
        if not hasattr(m, arg):
            raise UnsupportedModuleError(
                path, f"cannot read constructor argument '{arg}' of torch.nn.{name} back from the module "
                      f"(no attribute '{arg}' in this torch {torch.__version__})")
        return getattr(m, arg)

    @staticmethod
    def _verify_leaf(m: nn.Module, cls: type, name: str, kwargs: Mapping[str, Any], path: str) -> None:
        """Rebuild the leaf from the exported arguments (on the meta device, RNG state untouched) and
        check it has the same tensors and the same repr: the arguments were read back correctly and the
        module was not modified after construction."""
        try:
            sig = inspect.signature(cls.__init__).parameters
        except (TypeError, ValueError):  # pragma: no cover
            sig = {}
        meta = "device" in sig or name in ("RNN", "LSTM", "GRU")
        try:
            with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                args = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
                ref = cls(**args, device="meta") if meta else cls(**args)
        except Exception as e:
            raise UnsupportedModuleError(path, f"torch.nn.{name}(**{dict(kwargs)}) fails: {type(e).__name__}: {e}")
        want = [(k, tuple(v.shape)) for k, v in ref.state_dict(keep_vars=True).items()]
        got = [(k, tuple(v.shape)) for k, v in m.state_dict(keep_vars=True).items()]
        if want != got:
            raise UnsupportedModuleError(
                path, f"its tensors {got} are not those torch.nn.{name}(**{dict(kwargs)}) creates {want} "
                      "(parameters replaced, added or removed after construction?)")
        for (k, t_ref), (_, t) in zip(ref.state_dict(keep_vars=True).items(), m.state_dict(keep_vars=True).items()):
            if not t.is_floating_point() and t.dtype != t_ref.dtype:
                raise UnsupportedModuleError(path, f"'{k}' has dtype {t.dtype}, torch.nn.{name} creates {t_ref.dtype}")
        if repr(ref) != repr(m):
            raise UnsupportedModuleError(
                path, f"read back as {repr(ref)!r} but the module is {repr(m)!r} (an argument the exporter "
                      "cannot read back?)")

    def container(self, m: nn.Module, path: str, live: bool) -> Dict[str, Any]:
        cls = type(m)
        node: Dict[str, Any] = OrderedDict(type=cls.__name__)
        bases = [b.__name__ for b in cls.__bases__]
        # Only the names matter (`layer` matches them); BaseModule goes last so that the oracle's fresh
        # BaseModule subclasses have a consistent MRO (mmengine's Sequential is (BaseModule, nn.Sequential)).
        if "BaseModule" in bases:
            bases = [b for b in bases if b != "BaseModule"] + ["BaseModule"]
        if bases != ["BaseModule"]:
            node["bases"] = bases

        owner = _init_weights_owner(cls)
        calls_init_weights = live and owner is not None
        declaration = self._declaration(m, path)

        if calls_init_weights and _is_base_module(m):
            init_cfg = getattr(m, "init_cfg", None)
            if init_cfg:
                node["init_cfg"] = _json_value(init_cfg, path, "init_cfg")
        elif _is_base_module(m) and getattr(m, "init_cfg", None):
            warnings.warn(
                f"module '{path}': init_cfg {getattr(m, 'init_cfg')!r} is never applied by MMEngine (no ancestor "
                "calls this module's init_weights: a plain torch.nn.Module container without init_weights is on "
                "the way); exported without it", ExportWarning, stacklevel=4)

        steps = None
        if calls_init_weights and (_BaseModule is None or owner is not _BaseModule):
            steps = self._init_weights_steps(m, path, owner, declaration)
            if steps:
                node["init_weights"] = steps

        params = self._parameters(m, path, declaration)
        if params:
            node["parameters"] = params
        buffers = self._buffers(m, path, declaration)
        if buffers:
            node["buffers"] = buffers

        children = OrderedDict()
        for name, child in m._modules.items():
            if child is None:
                continue
            children[name] = self.node(child, _join(path, name), live=calls_init_weights and _has_init_weights(child))
        # An explicit (possibly empty) "children" keeps the node a container even when its class name is a
        # torch.nn leaf name or a near-miss of one.
        if children or not (params or buffers):
            node["children"] = children
        return node

    # -- declarations -------------------------------------------------------------------------------------------

    @staticmethod
    def _resolve(declaration: Any, m: nn.Module, path: str, origin: str) -> Dict[str, Any]:
        if isinstance(declaration, staticmethod):
            declaration = declaration.__func__
        if callable(declaration) and not isinstance(declaration, (list, tuple, Mapping)):
            declaration = declaration(m)
        if declaration is None:
            return {}
        if isinstance(declaration, (list, tuple)):
            return {"init_weights": list(declaration)}
        if isinstance(declaration, Mapping):
            unknown = set(declaration) - {"init_weights", "parameters", "buffers"}
            if unknown:
                raise UnsupportedModuleError(path, f"{origin} has unknown keys {sorted(unknown)} (allowed: "
                                                   "init_weights, parameters, buffers)")
            return dict(declaration)
        raise UnsupportedModuleError(path, f"{origin} must be a list of steps, a dict or a callable, "
                                           f"got {type(declaration).__name__}")

    def _declaration(self, m: nn.Module, path: str) -> Dict[str, Any]:
        """The merged declaration for ``m`` (instance attribute, class attribute, registry), with the class
        that declared ``init_weights`` recorded under ``"_init_weights_owner"``."""
        out: Dict[str, Any] = {}
        for klass in reversed(type(m).__mro__):  # base classes first, subclasses override
            for origin, decl in ((f"{klass.__name__} in register_init_weights", _registry.get(klass)),
                                 (f"{klass.__name__}.{DECLARATION_ATTRIBUTE}", vars(klass).get(DECLARATION_ATTRIBUTE))):
                if decl is None:
                    continue
                d = self._resolve(decl, m, path, origin)
                if "init_weights" in d:
                    out["init_weights"] = d["init_weights"]
                    out["_init_weights_owner"] = klass
                for key in ("parameters", "buffers"):
                    if key in d:
                        out.setdefault(key, {}).update(d[key] or {})
        inst = vars(m).get(DECLARATION_ATTRIBUTE)
        if inst is not None:
            d = self._resolve(inst, m, path, f"the instance attribute {DECLARATION_ATTRIBUTE}")
            if "init_weights" in d:
                out["init_weights"] = d["init_weights"]
                out["_init_weights_owner"] = "instance"
            for key in ("parameters", "buffers"):
                if key in d:
                    out.setdefault(key, {}).update(d[key] or {})
        return out

    def _init_weights_steps(self, m: nn.Module, path: str, owner: type, declaration: Mapping[str, Any]):
        decl_owner = declaration.get("_init_weights_owner")
        if "init_weights" not in declaration:
            raise UnsupportedModuleError(
                path, f"{type(m).__name__} overrides init_weights (in {owner.__qualname__}), which the exporter "
                      f"cannot read. Declare what it does after BaseModule.init_weights(): set "
                      f"{owner.__name__}.{DECLARATION_ATTRIBUTE} = {{'init_weights': [steps]}} or call "
                      f"weightinit_client.register_init_weights({owner.__name__}, [steps]) (steps as in "
                      "docs/spec.md, e.g. {'module': 'fc', 'fn': 'normal_init', 'std': 0.01})")
        if decl_owner != "instance" and decl_owner is not owner and not (
                isinstance(decl_owner, type) and issubclass(decl_owner, owner)):
            raise UnsupportedModuleError(
                path, f"init_weights is overridden in {owner.__qualname__} but declared for "
                      f"{getattr(decl_owner, '__qualname__', decl_owner)}; declare it on {owner.__name__}")
        steps = declaration["init_weights"]
        if not isinstance(steps, (list, tuple)) or not all(isinstance(s, Mapping) for s in steps):
            raise UnsupportedModuleError(path, "declared init_weights must be a list of step dicts")
        return [_json_value(s, path, "init_weights step") for s in steps]

    # -- own tensors --------------------------------------------------------------------------------------------

    def _dtype_entry(self, t: torch.Tensor, path: str, name: str) -> Optional[str]:
        if t.is_floating_point():
            return None  # generated in float32, cast with the model by the request dtype
        if t.dtype not in _SPEC_DTYPES:
            raise UnsupportedModuleError(path, f"'{name}' has dtype {t.dtype}, which a spec cannot declare")
        return _SPEC_DTYPES[t.dtype]

    def _parameters(self, m: nn.Module, path: str, declaration: Mapping[str, Any]):
        declared = dict(declaration.get("parameters") or {})
        out = OrderedDict()
        for name, p in m._parameters.items():
            if p is None:
                continue
            entry: Dict[str, Any] = OrderedDict(shape=[int(s) for s in p.shape])
            dt = self._dtype_entry(p, path, name)
            if dt is not None:
                entry["dtype"] = dt
            if not p.requires_grad:
                entry["requires_grad"] = False
            if name in declared:
                init = declared.pop(name)
                if init is not None:
                    entry["init"] = _json_value(init, path, f"declared init of parameter '{name}'")
            else:
                v = _constant_value(p)
                if v is None:
                    raise UnsupportedModuleError(
                        path, f"parameter '{name}' holds non-constant values, and how the constructor drew them "
                              f"cannot be read back; declare it: {DECLARATION_ATTRIBUTE} = {{'parameters': "
                              f"{{'{name}': {{'type': 'Normal', 'std': 0.02}}}}}} (or None for zeros: e.g. when "
                              "it was created with torch.zeros and init_weights() has already run)")
                if v != 0:
                    entry["init"] = OrderedDict(type="Constant", val=v)
            out[name] = entry
        if declared:
            raise UnsupportedModuleError(path, f"declared parameters {sorted(declared)} are not parameters of "
                                               f"{type(m).__name__}")
        return out

    def _buffers(self, m: nn.Module, path: str, declaration: Mapping[str, Any]):
        declared = dict(declaration.get("buffers") or {})
        out = OrderedDict()
        for name, b in m._buffers.items():
            if b is None:
                continue
            persistent = name not in m._non_persistent_buffers_set
            entry: Dict[str, Any] = OrderedDict(shape=[int(s) for s in b.shape])
            dt = self._dtype_entry(b, path, name)
            if dt is not None:
                entry["dtype"] = dt
            if name in declared:
                fill = declared.pop(name)
            else:
                fill = _constant_value(b)
                if fill is None:
                    if persistent:
                        raise UnsupportedModuleError(
                            path, f"persistent buffer '{name}' holds non-constant values; a spec buffer is "
                                  f"constant-filled (declare {DECLARATION_ATTRIBUTE} = {{'buffers': {{'{name}': "
                                  "value}} to export it anyway)")
                    fill = 0  # not in the state_dict: only its shape matters
            if fill:
                entry["fill"] = _json_value(fill, path, f"fill of buffer '{name}'")
            if not persistent:
                entry["persistent"] = False
            out[name] = entry
        if declared:
            raise UnsupportedModuleError(path, f"declared buffers {sorted(declared)} are not buffers of "
                                               f"{type(m).__name__}")
        return out
