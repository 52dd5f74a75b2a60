"""The recording mode of the tracer (see tracing.py): a TorchDispatchMode that follows every storage and ATen op.

Values that involve no random draw are followed on small real "shadow" tensors (computed by torch on the CPU), so
constructors that read them back (`.item()` on a `torch.linspace`) still work and such values can be sent as
literals. Anything that cannot be replayed exactly raises `UnsupportedModuleError`.
"""
import base64
import math
import os
import sys
from typing import Any, Dict, List, Optional

import torch
import torch.nn as nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten, tree_map

from .errors import UnsupportedModuleError

PROGRAM_VERSION = 1
# Deterministic values are followed on real CPU tensors up to this many elements per storage.
SHADOW_LIMIT = 1 << 22
# Literals (values sent as data) are refused past this many bytes in all.
LITERAL_LIMIT = 256 << 20

_DTYPES = {torch.float32: "float32", torch.float64: "float64", torch.float16: "float16",
           torch.bfloat16: "bfloat16", torch.int64: "int64", torch.int32: "int32", torch.bool: "bool"}
_TORCH_DIR = os.path.dirname(torch.__file__) + os.sep
_HERE = os.path.dirname(os.path.abspath(__file__)) + os.sep

aten = torch.ops.aten
# Random in-place fills the service reproduces: op name -> (argument names, defaults).
_RANDOM_INPLACE = {aten.uniform_.default: ("uniform_", ("from", "to"), (0.0, 1.0)),
                   aten.normal_.default: ("normal_", ("mean", "std"), (0.0, 1.0))}
# Random factories: torch.randn = empty + normal_(0, 1), torch.rand = empty + uniform_(0, 1).
_RANDOM_FACTORIES = {"randn": ("normal_", {"mean": 0.0, "std": 1.0}), "rand": ("uniform_", {"from": 0.0, "to": 1.0}),
                     "randn_like": ("normal_", {"mean": 0.0, "std": 1.0}),
                     "rand_like": ("uniform_", {"from": 0.0, "to": 1.0})}
_FILL_FACTORIES = {"zeros", "ones", "full", "zeros_like", "ones_like", "full_like", "new_zeros", "new_ones",
                   "new_full", "scalar_tensor"}
_UNINIT_FACTORIES = {"empty", "empty_like", "new_empty", "empty_strided", "new_empty_strided"}
# In-place elementwise ops with one Python scalar the service reproduces.
_SCALAR_INPLACE = {"mul_", "div_", "add_", "sub_"}
_FUNCTIONAL_SCALAR = {"mul": "mul_", "div": "div_", "add": "add_", "sub": "sub_"}
_VALUE_QUERIES = {"_local_scalar_dense", "is_nonzero", "equal", "item"}


def _dtype_name(dtype, what):
    name = _DTYPES.get(dtype)
    if name is None:
        raise UnsupportedModuleError(f"{what} has dtype {dtype}, which programs cannot hold")
    return name


def _call_site():
    """The innermost frame outside torch and this file (`file:line in function`), and the module whose code ran."""
    site, module = None, None
    f = sys._getframe(1)
    while f is not None:
        fn = f.f_code.co_filename
        if module is None:
            s = f.f_locals.get("self")
            if isinstance(s, nn.Module):
                module = s
        if site is None and not fn.startswith(_TORCH_DIR) and not fn.startswith(_HERE) and "contextlib" not in fn:
            site = f"{_short(fn)}:{f.f_lineno} in {f.f_code.co_name}"
        if site is not None and module is not None:
            break
        f = f.f_back
    return site or "?", module


def _module_chain():
    """The classes of the modules whose code is running, outermost first: `ResNet > Bottleneck > Conv2d`."""
    chain, seen = [], set()
    f = sys._getframe(1)
    while f is not None:
        s = f.f_locals.get("self")
        if isinstance(s, nn.Module) and id(s) not in seen:
            seen.add(id(s))
            chain.append(type(s).__name__)
        f = f.f_back
    return " > ".join(reversed(chain))


def _short(path):
    for p in sorted(sys.path, key=len, reverse=True):
        if p and path.startswith(p.rstrip(os.sep) + os.sep):
            return path[len(p.rstrip(os.sep)) + 1:]
    return path


class _Storage:
    """What the trace knows about one storage."""
    __slots__ = ("sid", "numel", "dtype", "keep", "shadow", "history", "whole", "poison", "device")

    def __init__(self, sid, numel, dtype, keep, device):
        self.sid, self.numel, self.dtype, self.keep, self.device = sid, numel, dtype, keep, device
        self.shadow = None      # flat CPU tensor with the values, when they involve no draw and are small
        self.history = False    # ops recorded for it (its value is expressed by the program)
        self.whole = False      # every element has been written (torch.empty leaves garbage)
        self.poison = None      # why its value cannot be expressed, if so


class Recorder(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.storages: Dict[int, _Storage] = {}
        self.order: List[_Storage] = []
        self.ops: List[Dict[str, Any]] = []
        self.sites: List[str] = []
        self._site_index: Dict[str, int] = {}
        self.op_modules: List[Any] = []
        self.literal_bytes = 0
        self.expected_rng_state = None  # the real generator's state the recorded manual_seed calls imply

    # ---- storages and windows -------------------------------------------------------------------------------

    def storage(self, t: torch.Tensor) -> _Storage:
        if isinstance(t, nn.parameter.UninitializedTensorMixin):
            self.refuse("an uninitialized parameter of a lazy module: its shape is only known after a forward pass")
        key = t.untyped_storage()._cdata
        st = self.storages.get(key)
        if st is None:
            itemsize = t.element_size()
            numel = t.untyped_storage().nbytes() // itemsize
            st = _Storage(len(self.order), numel, t.dtype, t, t.device.type)
            st.whole = numel == 0  # nothing to initialize
            if t.device.type == "cpu":  # a real tensor from outside the meta world: its values are known
                st.shadow = torch.empty(0, dtype=t.dtype, device="cpu").set_(t.untyped_storage(), 0, (numel,), (1,))
                st.whole = True
            self.storages[key] = st
            self.order.append(st)
        elif st.dtype != t.dtype:
            raise UnsupportedModuleError(f"a {t.dtype} view of a {st.dtype} storage cannot be expressed")
        return st

    def window(self, t: torch.Tensor):
        st = self.storage(t)
        if self.covers(t, st):
            return st.sid
        return {"storage": st.sid, "offset": t.storage_offset(), "shape": list(t.shape), "stride": list(t.stride())}

    @staticmethod
    def covers(t, st):
        return t.storage_offset() == 0 and t.numel() == st.numel and t.is_contiguous()

    def shadow(self, t: torch.Tensor) -> Optional[torch.Tensor]:
        st = self.storage(t)
        if st.shadow is None:
            return None
        return st.shadow.as_strided(t.shape, t.stride(), t.storage_offset())

    def site(self):
        site, module = _call_site()
        i = self._site_index.get(site)
        if i is None:
            i = self._site_index[site] = len(self.sites)
            self.sites.append(site)
        return i, module, site

    def record(self, op: Dict[str, Any]):
        i, module, _ = self.site()
        op["site"] = i
        self.ops.append(op)
        self.op_modules.append(module)

    def refuse(self, what: str, op: Optional[str] = None):
        _, _, site = self.site()
        raise UnsupportedModuleError(what, op=op, path=_module_chain() or None, site=site)

    # ---- literals --------------------------------------------------------------------------------------------

    def literal(self, t: torch.Tensor, values: torch.Tensor):
        """Records `t` (a window) being set to `values` (CPU, t's shape and dtype)."""
        self.begin_write(t)
        self.record({"op": "literal", "out": self.window(t), "data": self.encode(values)})
        self.end_write(t)

    def materialize(self, st: _Storage, t: torch.Tensor):
        """Before the first recorded op on a storage whose values so far are known only as a shadow: a literal."""
        if st.history:
            return
        st.history = True
        if st.shadow is not None and st.whole:
            self.record({"op": "literal", "out": st.sid, "data": self.encode(st.shadow)})

    def encode(self, values: torch.Tensor) -> str:
        v = values.contiguous()
        if v.dtype == torch.bfloat16:
            v = v.view(torch.int16)
        elif v.dtype == torch.bool:
            v = v.to(torch.uint8)
        data = v.numpy().tobytes()
        self.literal_bytes += len(data)
        if self.literal_bytes > LITERAL_LIMIT:
            self.refuse(f"more than {LITERAL_LIMIT} bytes of values would have to be sent as literals")
        return base64.b64encode(data).decode("ascii")

    def begin_write(self, t):
        st = self.storage(t)
        self.materialize(st, t)
        return st

    def end_write(self, t, reads_target=False):
        st = self.storage(t)
        if self.covers_any(t, st) and not reads_target:
            st.whole = True
            st.poison = None

    @staticmethod
    def covers_any(t, st):
        """The window reaches every element of the storage (any order)."""
        if t.numel() != st.numel:
            return False
        if t.storage_offset() != 0:
            return False
        # non-overlapping with numel elements inside [0, numel): a permutation of the storage
        extent = 1 + sum((s - 1) * abs(st_) for s, st_ in zip(t.shape, t.stride()) if s > 0)
        return extent == st.numel

    # ---- the dispatch hook -----------------------------------------------------------------------------------

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = func.overloadpacket.__name__
        schema = func._schema

        if name in _VALUE_QUERIES:
            return self.value_query(func, args, kwargs)
        if func in _RANDOM_INPLACE:
            return self.random_inplace(func, args, kwargs)
        if name in _RANDOM_FACTORIES:
            return self.random_factory(func, name, args, kwargs)
        for a in schema.arguments:
            if a.type.kind() == "OptionalType" and "Generator" in str(a.type):
                g = kwargs.get(a.name)
                if g is not None or name not in ("empty", "empty_like"):
                    self.refuse(f"{func} draws random numbers in a way programs cannot replay", op=str(func))
        if _is_view(func):
            return func(*args, **kwargs)
        if name in _UNINIT_FACTORIES:
            out = func(*args, **kwargs)
            self.storage(out)
            return out
        if name in _FILL_FACTORIES:
            return self.fill_factory(func, name, args, kwargs)
        if name in ("fill_", "zero_"):
            return self.fill_inplace(func, name, args, kwargs)
        if name in _SCALAR_INPLACE or name in ("clamp_", "clamp_min_", "clamp_max_", "erfinv_"):
            return self.pointwise_inplace(func, name, args, kwargs)
        if name == "copy_":
            return self.copy_inplace(func, args, kwargs)
        if name in _FUNCTIONAL_SCALAR or name in ("clamp", "clamp_min", "clamp_max", "erfinv", "clone",
                                                   "_to_copy", "contiguous"):
            return self.pointwise_functional(func, name, args, kwargs)
        return self.generic(func, name, args, kwargs)

    # ---- handlers --------------------------------------------------------------------------------------------

    def tensors_in(self, args, kwargs):
        flat, _ = tree_flatten((args, kwargs))
        return [a for a in flat if isinstance(a, torch.Tensor)]

    def to_shadow(self, args, kwargs):
        """args/kwargs with every tensor replaced by its shadow (None when one is unknown) and meta devices by cpu."""
        missing = []

        def conv(a):
            if isinstance(a, torch.Tensor):
                s = self.shadow(a)
                if s is None:
                    missing.append(a)
                return s
            if isinstance(a, torch.device) and a.type == "meta":
                return torch.device("cpu")
            return a
        sa, sk = tree_map(conv, (args, kwargs))
        return (None, None) if missing else (sa, sk)

    def value_query(self, func, args, kwargs):
        sa, sk = self.to_shadow(args, kwargs)
        if sa is None:
            self.refuse("a Python branch on a tensor value the trace cannot know (a value that depends on random draws "
                        "or on memory torch.empty left)", op=str(func))
        return func(*sa, **sk)

    def check_contiguous_random(self, t, what):
        st = self.storage(t)
        if not t.is_contiguous():
            self.refuse(f"{what} on a non-contiguous view")
        return st

    def random_inplace(self, func, args, kwargs):
        t = args[0]
        opname, names, defaults = _RANDOM_INPLACE[func]
        values = list(args[1:]) + [kwargs.get(n, d) for n, d in zip(names[len(args) - 1:], defaults[len(args) - 1:])]
        if kwargs.get("generator") is not None:
            self.refuse(f"{opname} with a torch.Generator of its own")
        self.check_contiguous_random(t, opname)
        if _dtype_name(t.dtype, opname) not in ("float32", "float64", "float16", "bfloat16"):
            self.refuse(f"{opname} on a {t.dtype} tensor")
        if t.device.type == "cpu":
            self.refuse(f"{opname} on a CPU tensor created outside the trace")
        st = self.begin_write(t)
        op = {"op": opname, "out": self.window(t)}
        for n, v in zip(names, values):
            op[n] = float(v)
        self.record(op)
        st.shadow = None
        self.end_write(t)
        return func(*args, **kwargs)

    def random_factory(self, func, name, args, kwargs):
        if kwargs.get("generator") is not None:
            self.refuse(f"torch.{name} with a torch.Generator of its own")
        out = func(*args, **kwargs)
        if out.device.type != "meta":
            self.refuse(f"torch.{name} on the {out.device.type} device")
        opname, fixed = _RANDOM_FACTORIES[name]
        _dtype_name(out.dtype, f"torch.{name}")
        st = self.begin_write(out)
        op = {"op": opname, "out": self.window(out)}
        op.update(fixed)
        self.record(op)
        self.end_write(out)
        return out

    def trunc_normal(self, t, mean, std, a, b):
        """torch.nn.init.trunc_normal_ (torch 2.15's rejection sampler: its draws depend on values, so it is one op)."""
        if not isinstance(t, torch.Tensor) or t.device.type != "meta":
            self.refuse("trunc_normal_ on a tensor outside the meta device")
        self.check_contiguous_random(t, "trunc_normal_")
        st = self.begin_write(t)
        self.record({"op": "trunc_normal_", "out": self.window(t), "mean": mean, "std": std, "a": a, "b": b})
        st.shadow = None
        self.end_write(t)

    def fill_factory(self, func, name, args, kwargs):
        out = func(*args, **kwargs)
        st = self.storage(out)
        sa, sk = self.to_shadow(args, kwargs)
        value = None
        if sa is not None:
            cpu = func(*sa, **sk)
            if cpu.numel() > 0:
                value = cpu.reshape(-1)[0].item()
            if out.numel() <= SHADOW_LIMIT and out.device.type == "meta":
                st.shadow = cpu.reshape(-1).clone() if self.covers(out, st) else None
        if value is None and out.numel() > 0:
            return self.generic_result(func, name, args, kwargs, out)
        if out.device.type == "meta" and out.numel() > 0:
            _dtype_name(out.dtype, f"torch.{name}")
            st.history = True
            self.record({"op": "fill_", "out": self.window(out), "value": _py(value)})
        st.whole = True
        return out

    def fill_inplace(self, func, name, args, kwargs):
        t = args[0]
        value = 0 if name == "zero_" else args[1] if len(args) > 1 else kwargs["value"]
        if isinstance(value, torch.Tensor):
            s = self.shadow(value)
            if s is None or s.numel() != 1:
                return self.generic(func, name, args, kwargs)
            value = s.item()
        _dtype_name(t.dtype, name)
        st = self.begin_write(t)
        self.record({"op": "fill_", "out": self.window(t), "value": _py(value)})
        self.update_shadow(func, args, kwargs, t)
        self.end_write(t)
        return func(*args, **kwargs)

    def update_shadow(self, func, args, kwargs, t):
        """Runs an in-place op on the shadows too (or forgets the target's values when an input is unknown)."""
        st = self.storage(t)
        if st.device == "cpu":
            return
        sa, sk = self.to_shadow(args, kwargs)
        if sa is None:
            st.shadow = None
        else:
            func(*sa, **sk)

    def scalar(self, v):
        if isinstance(v, torch.Tensor):
            s = self.shadow(v)
            if s is None or s.numel() != 1 or s.dim() != 0:
                return None
            return s.item()
        return v

    def pointwise_inplace(self, func, name, args, kwargs):
        t = args[0]
        if not t.dtype.is_floating_point:
            return self.generic(func, name, args, kwargs)
        op = {"op": name.rstrip("_") + "_" if name in _SCALAR_INPLACE else name}
        if name in _SCALAR_INPLACE:
            other = self.scalar(args[1] if len(args) > 1 else kwargs.get("other"))
            alpha = self.scalar(args[2] if len(args) > 2 else kwargs.get("alpha", 1))
            if other is None or alpha is None or isinstance(other, complex):
                return self.generic(func, name, args, kwargs)
            op["other"] = _py(other)
            if name in ("add_", "sub_") and alpha != 1:
                op["alpha"] = _py(alpha)
        elif name in ("clamp_", "clamp_min_", "clamp_max_"):
            op["op"] = "clamp_"
            if name == "clamp_min_":
                lo, hi = args[1], None
            elif name == "clamp_max_":
                lo, hi = None, args[1]
            else:
                lo = args[1] if len(args) > 1 else kwargs.get("min")
                hi = args[2] if len(args) > 2 else kwargs.get("max")
            lo, hi = self.scalar(lo) if lo is not None else None, self.scalar(hi) if hi is not None else None
            if (lo is None and hi is None) or isinstance(lo, torch.Tensor) or isinstance(hi, torch.Tensor):
                return self.generic(func, name, args, kwargs)
            if lo is not None:
                op["min"] = _py(lo)
            if hi is not None:
                op["max"] = _py(hi)
        st = self.storage(t)
        if not st.history and st.shadow is not None:  # values fully known: just follow them
            self.update_shadow(func, args, kwargs, t)
            return func(*args, **kwargs)
        self.begin_write(t)
        op["out"] = self.window(t)
        self.record(op)
        self.update_shadow(func, args, kwargs, t)
        return func(*args, **kwargs)

    def copy_inplace(self, func, args, kwargs):
        dst, src = args[0], args[1]
        if dst.device.type == "cpu" and src.device.type == "cpu":
            return self.generic(func, "copy_", args, kwargs)
        _dtype_name(dst.dtype, "copy_")
        sst = self.storage(src)
        dst_st = self.storage(dst)
        src_shadow = self.shadow(src)
        if src_shadow is not None and not sst.history:
            if not dst_st.history and (dst_st.shadow is not None or self.covers_any(dst, dst_st)):
                # values fully known: follow them on the shadow
                if dst_st.shadow is None and dst.numel() <= SHADOW_LIMIT and self.covers(dst, dst_st):
                    dst_st.shadow = torch.empty(dst_st.numel, dtype=dst.dtype, device="cpu")
                if dst_st.shadow is not None:
                    self.shadow(dst).copy_(src_shadow)
                    self.end_write(dst)
                    return func(*args, **kwargs)
            values = torch.empty(dst.shape, dtype=dst.dtype, device="cpu").copy_(src_shadow)
            self.literal(dst, values)
            self.update_shadow(func, args, kwargs, dst)
            return func(*args, **kwargs)
        if sst.poison is not None:
            self.poison(dst, sst.poison, site=False)
            return func(*args, **kwargs)
        if not sst.whole:
            self.poison(dst, "copies memory that torch.empty left uninitialized")
            return func(*args, **kwargs)
        if not sst.history:
            self.materialize(sst, src)
        self.begin_write(dst)
        self.record({"op": "copy_", "out": self.window(dst), "src": self.window(src)})
        self.update_shadow(func, args, kwargs, dst)
        self.end_write(dst)
        return func(*args, **kwargs)

    def pointwise_functional(self, func, name, args, kwargs):
        src = args[0] if args and isinstance(args[0], torch.Tensor) else None
        if src is None:
            return self.generic(func, name, args, kwargs)
        sa, sk = self.to_shadow(args, kwargs)
        if sa is not None:  # all known: follow on shadows
            return self.generic(func, name, args, kwargs)
        out = func(*args, **kwargs)
        if not isinstance(out, torch.Tensor) or out.shape != src.shape or not out.dtype.is_floating_point:
            return self.generic_result(func, name, args, kwargs, out)
        if out.untyped_storage()._cdata == src.untyped_storage()._cdata:
            return out  # _to_copy / contiguous that returned its input
        # out = op(src, ...): a fresh storage, copy_ then the in-place form
        self.storage(out)
        self.copy_inplace(aten.copy_.default, (out, src), {})
        if name in _FUNCTIONAL_SCALAR or name in ("clamp", "clamp_min", "clamp_max", "erfinv"):
            inplace = getattr(aten, name + "_")
            overload = func._overloadname
            ifunc = getattr(inplace, overload, None) or inplace.default
            if name in ("add", "sub", "mul", "div") and overload == "Tensor" and len(args) > 1 \
                    and isinstance(args[1], torch.Tensor) and self.scalar(args[1]) is None:
                self.poison(out, f"{name} of two tensors whose values depend on random draws")
                return out
            if name in _FUNCTIONAL_SCALAR and out.dtype != src.dtype:
                return self.generic_result(func, name, args, kwargs, out)
            self.pointwise_inplace(ifunc, name + "_", (out,) + tuple(args[1:]), kwargs)
        return out

    def poison(self, t, why, site=True):
        st = self.storage(t)
        if site:
            why = f"{why} (at {self.site()[2]})"
        st.poison = st.poison or why
        st.shadow = None

    def generic(self, func, name, args, kwargs):
        try:
            out = func(*args, **kwargs)
        except (NotImplementedError, RuntimeError) as e:
            sa, sk = self.to_shadow(args, kwargs)
            if sa is None:
                self.refuse(f"{func} cannot run on the meta device ({e})", op=str(func))
            cpu = func(*sa, **sk)
            out = tree_map(lambda c: torch.empty_strided(c.shape, c.stride(), dtype=c.dtype, device="meta")
                           if isinstance(c, torch.Tensor) else c, cpu)
            self.after_generic(func, name, args, kwargs, out, cpu)
            return out
        return self.generic_result(func, name, args, kwargs, out)

    def generic_result(self, func, name, args, kwargs, out, cpu=None):
        self.after_generic(func, name, args, kwargs, out, cpu)
        return out

    def after_generic(self, func, name, args, kwargs, out, cpu):
        """An op outside the vocabulary: follow its values on shadows where all inputs are known, else poison what it
        wrote. Written: mutated arguments (in-place/out=) and fresh outputs."""
        schema = func._schema
        written = []
        for i, a in enumerate(schema.arguments):
            if a.alias_info is not None and a.alias_info.is_write:
                v = args[i] if i < len(args) else kwargs.get(a.name)
                if isinstance(v, torch.Tensor):
                    written.append(v)
        outs = [o for o in tree_flatten(out)[0] if isinstance(o, torch.Tensor)]
        fresh = [o for o in outs if all(o.untyped_storage()._cdata != w.untyped_storage()._cdata for w in written)
                 and all(o.untyped_storage()._cdata != x.untyped_storage()._cdata for x in self.tensors_in(args, kwargs))]
        sa, sk = self.to_shadow(args, kwargs)
        if sa is not None:
            if cpu is None and (written or fresh):
                # shadows of the written arguments are updated in place by running the op on them
                if any(self.storage(w).device == "cpu" for w in written):
                    cpu = out
                else:
                    cpu = func(*sa, **sk)
            cpu_outs = [o for o in tree_flatten(cpu)[0] if isinstance(o, torch.Tensor)] if cpu is not None else []
            for o in fresh:
                st = self.storage(o)
                if o.device.type == "cpu":
                    continue
                c = cpu_outs[outs.index(o)] if cpu_outs else None
                if c is not None and st.numel <= SHADOW_LIMIT and self.covers(o, st):
                    st.shadow = c.reshape(-1).clone()
                    st.whole = True
                else:
                    self.poison(o, f"{name} produced {o.numel()} values, too many to follow exactly")
            for w in written:
                st = self.storage(w)
                if st.history and w.device.type == "meta":
                    self.literal(w, self.shadow(w).clone())
                else:
                    self.end_write(w, reads_target=True)
            return
        for o in fresh + written:
            self.poison(o, f"{name} on values that depend on random draws")


def _is_view(func):
    rets = func._schema.returns
    return len(rets) == 1 and rets[0].alias_info is not None and not rets[0].alias_info.is_write and \
        func._schema.name not in ("aten::_to_copy",)


def _py(v):
    if isinstance(v, bool):  # fill_(True) is fill_(1) in every dtype
        return int(v)
    if isinstance(v, int):
        return v
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v
