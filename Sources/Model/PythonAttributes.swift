/// Attribute names a torchref container instance already has when its parameters, buffers and children are
/// registered (`dir()` of a BaseModule subclass instance, torch 2.15 + MMEngine 0.10.7). torch's
/// `register_parameter` / `register_buffer` / `add_module` refuse them: `KeyError: "attribute 'type' already exists"`.
enum PythonAttributes {
    static let baseModule: Set<String> = [
        "T_destination", "__abstractmethods__", "__annotations__", "__call__", "__class__", "__delattr__", "__dict__",
        "__dir__", "__doc__", "__eq__", "__format__", "__ge__", "__getattr__", "__getattribute__", "__getstate__",
        "__gt__", "__hash__", "__init__", "__init_subclass__", "__le__", "__lt__", "__module__", "__ne__", "__new__",
        "__reduce__", "__reduce_ex__", "__repr__", "__setattr__", "__setstate__", "__sizeof__", "__str__",
        "__subclasshook__", "__weakref__", "_abc_impl", "_apply", "_backward_hooks", "_backward_pre_hooks", "_buffers",
        "_call_impl", "_compiled_call_impl", "_dump_init_info", "_forward_hooks", "_forward_hooks_always_called",
        "_forward_hooks_with_kwargs", "_forward_pre_hooks", "_forward_pre_hooks_with_kwargs", "_get_backward_hooks",
        "_get_backward_pre_hooks", "_get_name", "_is_full_backward_hook", "_is_init", "_load_from_state_dict",
        "_load_state_dict_post_hooks", "_load_state_dict_pre_hooks", "_maybe_warn_non_full_backward_hook", "_modules",
        "_named_members", "_non_persistent_buffers_set", "_parameters", "_register_load_state_dict_pre_hook",
        "_register_state_dict_hook", "_replicate_for_data_parallel", "_save_to_state_dict", "_slow_forward",
        "_state_dict_hooks", "_state_dict_pre_hooks", "_version", "_wrapped_call_impl", "add_module", "apply",
        "bfloat16", "buffers", "call_super_init", "children", "compile", "cpu", "cuda", "double", "dump_patches", "eval",
        "extra_repr", "float", "forward", "get_buffer", "get_extra_state", "get_parameter", "get_submodule", "half",
        "init_cfg", "init_weights", "ipu", "is_init", "load_state_dict", "modules", "mtia", "named_buffers",
        "named_children", "named_modules", "named_parameters", "parameters", "register_backward_hook",
        "register_buffer", "register_forward_hook", "register_forward_pre_hook", "register_full_backward_hook",
        "register_full_backward_pre_hook", "register_load_state_dict_post_hook", "register_load_state_dict_pre_hook",
        "register_module", "register_parameter", "register_state_dict_post_hook", "register_state_dict_pre_hook",
        "requires_grad_", "set_extra_state", "set_submodule", "share_memory", "state_dict", "to", "to_empty", "train",
        "training", "type", "xpu", "zero_grad",
        // torchref stores the init_weights steps as `self._steps` after registering everything: a tensor or child
        // of that name is then replaced (TypeError) or silently dropped.
        "_steps",
    ]
}
