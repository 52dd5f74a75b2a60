"""`trace(factory)`: the request body for what `torch.manual_seed(seed); m = factory(); [m.init_weights()]` leaves
in `m.state_dict()`, recorded without allocating the model (docs/programs.md).

    from weightinit_client import trace, initialize
    body = trace(torchvision.models.resnet50, seed=0)
    initialize("http://127.0.0.1:8080", body, "resnet50.safetensors")
"""
import contextlib
import sys
from collections import defaultdict
from typing import Any, Callable, Dict, Optional

import torch
import torch.nn as nn
from torch.utils._device import DeviceContext
from torch.utils._python_dispatch import _disable_current_modes

from .errors import UnsupportedModuleError
from .mkl import mkl_path
from .recorder import PROGRAM_VERSION, Recorder, _dtype_name

__all__ = ["trace", "trace_program", "spec_from_module"]


def trace(factory: Callable[..., nn.Module], *args, seed: Optional[int] = None, init_weights: Optional[bool] = None,
          dtype: Optional[str] = None, format: Optional[str] = None, **kwargs) -> Dict[str, Any]:
    """The request body (`{"program", "seed"?, "dtype"?, "format"?, "mkl"?}`) for `factory(*args, **kwargs)`.

    `init_weights`: call `m.init_weights()` after construction; default: exactly when `m` is an MMEngine
    `BaseModule`. Raises `UnsupportedModuleError` for anything the service could not reproduce bit for bit.
    """
    body: Dict[str, Any] = {"program": trace_program(factory, *args, init_weights=init_weights, **kwargs)}
    path = mkl_path()
    if path != "sse4_2":  # the service then computes erfinv_ as this torch does (and refuses orthogonal_)
        body["mkl"] = path
    if seed is not None:
        body["seed"] = int(seed)
    if dtype is not None:
        body["dtype"] = dtype
    if format is not None:
        body["format"] = format
    return body


def trace_program(factory: Callable[..., nn.Module], *args, init_weights: Optional[bool] = None, **kwargs) -> Dict[str, Any]:
    """The program alone (the `program` field of the body)."""
    rec = Recorder()
    # Nothing the trace runs draws from the real generator, so its state afterwards must be what the recorded
    # manual_seed calls left (or the start): anything else reseeded or drew behind the trace's back.
    start = torch.get_rng_state()
    rec.expected_rng_state = start
    try:
        m = _run(rec, factory, args, kwargs, init_weights)
        if not torch.equal(torch.get_rng_state(), rec.expected_rng_state):
            raise UnsupportedModuleError("the global random generator was reseeded or drawn from outside the operations "
                                         "the trace can see (e.g. torch.default_generator used directly)")
    finally:
        torch.set_rng_state(start)  # tracing leaves the caller's generator as it was
    return _assemble(rec, m)


def _run(rec: Recorder, factory, args, kwargs, init_weights):
    with _patches(rec), _MetaDevice(rec), rec:
        try:
            m = factory(*args, **kwargs)
        except UnsupportedModuleError:
            raise
        except Exception as e:  # what the meta device cannot do surfaces as an error of the factory
            raise UnsupportedModuleError(f"{type(e).__name__} while tracing the factory on the meta device: {e}") from e
        if not isinstance(m, nn.Module):
            raise UnsupportedModuleError(f"the factory returned {type(m).__name__}, not a torch.nn.Module")
        if init_weights is None:
            init_weights = _is_base_module(m)
        if init_weights:
            if not hasattr(m, "init_weights"):
                raise UnsupportedModuleError(f"{type(m).__name__} has no init_weights()")
            m.init_weights()
    return m


def spec_from_module(factory, *args, **kwargs) -> Dict[str, Any]:
    """The old exporter's name, now `trace`. It used to read a built module's structure and guess what its
    constructor did, which gave silently different values for models whose constructors run init loops; a built
    module cannot show that, so only a factory is accepted."""
    if isinstance(factory, nn.Module):
        raise UnsupportedModuleError(
            f"spec_from_module needs the factory, not a built {type(factory).__name__}: a built module cannot show what "
            f"its constructor did. Use trace({type(factory).__name__}, *args, seed=...)")
    return trace(factory, *args, **kwargs)


def _is_base_module(m) -> bool:
    try:
        from mmengine.model import BaseModule
    except ImportError:
        return False
    return isinstance(m, BaseModule)


class _MetaDevice(DeviceContext):
    """`with torch.device("meta")`, except that `torch.tensor(data)` keeps its data: it is made on the CPU and moved,
    so the recorder sees the values (the plain device context drops them before any op runs)."""

    def __init__(self, rec: Recorder):
        super().__init__(torch.device("meta"))
        self.rec = rec

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in (torch.Tensor.tolist, torch.Tensor.numpy, torch.Tensor.__array__) and args[0].device.type == "meta":
            # these read memory without an ATen op: answer from the values the recorder followed
            shadow = self.rec.shadow(args[0])
            if shadow is None:
                self.rec.refuse(f"{func.__name__}() of a tensor whose values depend on random draws")
            return func(shadow, *args[1:], **kwargs)
        if func in (torch.tensor, torch.as_tensor, torch.asarray) and kwargs.get("device") is None:
            data = args[0] if args else kwargs.get("data")
            if not (isinstance(data, torch.Tensor) and data.device.type == "meta"):
                return func(*args, **kwargs).to("meta")
        return super().__torch_function__(func, types, args, kwargs)


# ---- patches: functions whose draws or effects a dispatch mode cannot see --------------------------------------

@contextlib.contextmanager
def _patches(rec: Recorder):
    init = torch.nn.init
    originals = {}

    def patch(owner, name, replacement):
        orig = getattr(owner, name)
        originals[(owner, name)] = orig
        setattr(owner, name, replacement)
        # `from torch.nn.init import trunc_normal_` elsewhere holds the original: patch those names too
        if owner is init:
            for mod in list(sys.modules.values()):
                d = getattr(mod, "__dict__", None)
                if d is not None and mod is not init:
                    for k, v in list(d.items()):
                        if v is orig:
                            originals[(mod, k)] = orig
                            setattr(mod, k, replacement)

    def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
        if generator is not None:
            rec.refuse("trunc_normal_ with a torch.Generator of its own")
        rec.trunc_normal(tensor, float(mean), float(std), float(a), float(b))
        return tensor

    def refusing(name, why):
        def f(*a, **k):
            rec.refuse(f"torch.nn.init.{name}: {why}", op=f"torch.nn.init.{name}")
        return f

    def on_cpu(name, orig):
        """Deterministic initializers (no draws): computed by torch on the CPU, sent as a literal."""
        def f(tensor, *a, **k):
            with torch.no_grad():
                with torch._C.DisableTorchFunction(), _disable_current_modes():
                    cpu = torch.empty(tensor.shape, dtype=tensor.dtype, device="cpu")
                    orig(cpu, *a, **k)
                tensor.copy_(cpu)
            return tensor
        return f

    def manual_seed(seed):
        rec.record({"op": "manual_seed", "seed": int(seed)})
        result = orig_manual_seed(seed)
        with torch._C.DisableTorchFunction(), _disable_current_modes():
            rec.expected_rng_state = torch.get_rng_state()
        return result

    def refuse_rng(name):
        def f(*a, **k):
            rec.refuse(f"torch.{name} changes the random generator in a way programs cannot replay", op=f"torch.{name}")
        return f

    orig_manual_seed = torch.manual_seed
    patch(init, "trunc_normal_", trunc_normal_)
    patch(init, "orthogonal_", refusing("orthogonal_", "its QR decomposition (LAPACK) cannot be reproduced bit for bit"))
    patch(init, "sparse_", refusing("sparse_", "its randperm draws are not part of the program vocabulary"))
    patch(init, "eye_", on_cpu("eye_", init.eye_))
    patch(init, "dirac_", on_cpu("dirac_", init.dirac_))
    patch(torch, "manual_seed", manual_seed)
    patch(torch.random, "manual_seed", manual_seed)
    for name in ("seed", "set_rng_state"):
        patch(torch, name, refuse_rng(name))
        patch(torch.random, name, refuse_rng(name))
    patch(torch.random, "fork_rng", refuse_rng("random.fork_rng"))
    _patch_mmengine(rec, patch)
    try:
        yield
    finally:
        for (owner, name), orig in originals.items():
            setattr(owner, name, orig)


def _patch_mmengine(rec: Recorder, patch):
    """MMEngine's init-info bookkeeping compares `param.data.mean()` before and after each initializer, which meta
    tensors cannot do: it is recorded (`init_info_reset` / `init_info_update`) and the service applies the rule."""
    try:
        import mmengine.model.base_module as base_module
        import mmengine.model.weight_init as weight_init
    except ImportError:
        return
    BaseModule = base_module.BaseModule
    orig_init_weights = BaseModule.init_weights

    def storages(module):
        return [rec.storage(p).sid for _, p in module.named_parameters()]

    def update_init_info(module, init_info):
        rec.record({"op": "init_info_update", "storages": storages(module), "info": init_info})

    def init_weights(self):
        top = not hasattr(self, "_params_init_info")
        if top:
            info = f"The value is the same before and after calling `init_weights` of {self.__class__.__name__} "
            self._params_init_info = defaultdict(dict)
            for _, param in self.named_parameters():
                self._params_init_info[param]["init_info"] = info
            rec.record({"op": "init_info_reset", "storages": storages(self), "info": info})
            for sub in self.modules():
                sub._params_init_info = self._params_init_info
        try:
            orig_init_weights(self)
        finally:
            if top:
                for sub in self.modules():
                    if "_params_init_info" in sub.__dict__:
                        del sub._params_init_info

    def pretrained(self, module):
        rec.refuse("Pretrained in a traced init_cfg: send it as the request's init_cfg instead, so the service loads "
                   "the checkpoint")

    patch(weight_init, "update_init_info", update_init_info)
    patch(base_module, "update_init_info", update_init_info)
    patch(BaseModule, "init_weights", init_weights)
    patch(weight_init.PretrainedInit, "__call__", pretrained)


# ---- the program ---------------------------------------------------------------------------------------------

def _assemble(rec: Recorder, m: nn.Module) -> Dict[str, Any]:
    state = m.state_dict(keep_vars=True)
    param_names = {name for name, _ in m.named_parameters(remove_duplicate=False)}
    entries = []
    index: Dict[str, int] = {}
    for name, t in state.items():
        if not isinstance(t, torch.Tensor):
            raise UnsupportedModuleError(f"state-dict entry {name} is a {type(t).__name__}, not a tensor")
        st = rec.storage(t)
        if not rec.covers(t, st):
            raise UnsupportedModuleError(f"state-dict entry {name} is a view into a larger storage; programs hold "
                                         f"whole contiguous tensors")
        _dtype_name(t.dtype, f"state-dict entry {name}")
        if st.poison is not None:
            raise UnsupportedModuleError(f"{name}: {st.poison}")
        if not st.whole:
            raise UnsupportedModuleError(f"{name}: some of its values are the uninitialized memory of torch.empty")
        if not st.history and st.numel > 0:
            if st.shadow is None:
                raise UnsupportedModuleError(f"{name}: its values are unknown to the trace")
            rec.materialize(st, t)
        index[name] = len(entries)
        entries.append({"name": name, "storage": st.sid, "shape": list(t.shape),
                        "kind": "parameter" if name in param_names else "buffer"})

    paths = {id(mod): path for path, mod in m.named_modules(remove_duplicate=False)}
    modules = []
    for path, mod in m.named_modules():
        prefix = path + "." if path else ""
        modules.append({
            "path": path, "class": type(mod).__name__, "bases": [b.__name__ for b in type(mod).__bases__],
            "init_weights": hasattr(mod, "init_weights"),
            "parameters": {n: (index.get(prefix + n) if p is not None else None) for n, p in mod._parameters.items()},
            "buffers": {n: (index.get(prefix + n) if b is not None else None) for n, b in mod._buffers.items()
                        if n not in mod._non_persistent_buffers_set},
        })

    # storages that nothing refers to are dropped; the rest renumbered in order of creation
    used = {e["storage"] for e in entries}
    for op in rec.ops:
        for key in ("out", "src"):
            if key in op:
                used.add(op[key] if isinstance(op[key], int) else op[key]["storage"])
        used.update(op.get("storages", ()))
    renumber = {}
    storages = []
    for st in rec.order:
        if st.sid in used:
            renumber[st.sid] = len(storages)
            storages.append({"numel": st.numel, "dtype": _dtype_name(st.dtype, "a storage")})

    def win(w):
        if isinstance(w, int):
            return renumber[w]
        return dict(w, storage=renumber[w["storage"]])

    ops = []
    for op, mod in zip(rec.ops, rec.op_modules):
        op = dict(op)
        for key in ("out", "src"):
            if key in op:
                op[key] = win(op[key])
        if "storages" in op:
            op["storages"] = [renumber[s] for s in op["storages"]]
        if mod is not None and id(mod) in paths:
            op["module"] = paths[id(mod)]
        ops.append(op)
    for e in entries:
        e["storage"] = renumber[e["storage"]]
    return {"version": PROGRAM_VERSION, "model": type(m).__name__, "storages": storages, "state_dict": entries,
            "modules": modules, "sites": rec.sites, "ops": ops}
