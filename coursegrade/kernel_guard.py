"""Code that runs INSIDE the student's kernel (sent as text by the worker, never imported there).

``install`` runs before any student code. It imports the modules the sheet uses, then keeps
references to everything a test relies on: the functions of those modules, the IPython shell's
input and AST transformers, its traceback and execution machinery, the kernel's messaging,
the exception hook, the grading-mode variable, the SIGINT handler and numpy's error state.
The returned ``guard(phase, names)`` compares the kernel with that snapshot, puts back what
was changed and reports each change. The worker calls it through ``user_expressions`` (which
IPython evaluates without input transformers) before and after every test cell.

Kernel code that is determined to cheat could still defeat checks that live in the same
process; the worker therefore also scans the student's source (see ``guard.scan``) and flags
every submission where something had to be put back, for a teacher to look at.
"""


def install(nonce, modules, watched_roots, watched_modules_exact):
    import builtins
    import importlib
    import json
    import os
    import signal
    import sys
    import time
    import types

    from IPython import get_ipython

    cpu_start = time.process_time()  # what starting Python and the kernel cost
    ip = get_ipython()
    import_cpu = {}  # CPU seconds per module (what a module it pulls in costs is counted once, for the first)
    for name in modules:
        begin = time.process_time()
        try:
            importlib.import_module(name)
        except Exception:  # a module the sheet imports but this machine lacks: the cell will say so
            pass
        import_cpu[name] = time.process_time() - begin
    np = sys.modules.get("numpy")
    cpu_imports = time.process_time()

    def watched_modules():
        return {
            name: module
            for name, module in list(sys.modules.items())
            if isinstance(module, types.ModuleType)
            and (name.split(".")[0] in watched_roots or name in watched_modules_exact)
        }

    def is_tracked(value):
        return isinstance(value, (types.FunctionType, types.BuiltinFunctionType, types.ModuleType, type)) or (
            callable(value) and type(value).__module__.split(".")[0] in ("numpy", "torch")
        )

    modules_before = {name: (m, {k: v for k, v in vars(m).items() if is_tracked(v)}) for name, m in watched_modules().items()}
    codes_before = {
        (name, key): value.__code__
        for name, (_, members) in modules_before.items()
        for key, value in members.items()
        if isinstance(value, types.FunctionType)
    }
    machinery = [ip, ip.kernel, ip.kernel.session, ip.displayhook, ip.display_pub, ip.compile, ip.events]
    classes = {cls for obj in machinery for cls in type(obj).__mro__ if cls is not object}
    classes_before = {cls: dict(vars(cls)) for cls in classes}
    instance_before = {id(obj): (obj, {k: v for k, v in vars(obj).items() if callable(v)}) for obj in machinery}
    attributes = ("compile", "displayhook", "display_pub", "InteractiveTB", "SyntaxTB", "CustomTB",
                  "custom_exceptions", "user_ns", "kernel", "events", "input_transformer_manager")
    attributes_before = {a: getattr(ip, a, None) for a in attributes}
    itm = ip.input_transformer_manager
    lists_before = {
        "input_transformers_cleanup": (ip, list(ip.input_transformers_cleanup)),
        "input_transformers_post": (ip, list(ip.input_transformers_post)),
        "ast_transformers": (ip, list(ip.ast_transformers)),
        "line_transforms": (itm, list(itm.line_transforms)),
        "cleanup_transforms": (itm, list(itm.cleanup_transforms)),
    }
    list_objects = {key: getattr(owner, key) for key, (owner, _) in lists_before.items()}
    events_before = {event: list(callbacks) for event, callbacks in ip.events.callbacks.items()}
    hooks_before = {"excepthook": sys.excepthook, "breakpointhook": sys.breakpointhook}
    sigint_before = signal.getsignal(signal.SIGINT)
    env_before = os.environ.get("NBGRADER_EXECUTION")
    cwd_before = os.getcwd()
    numpy_errors_before = np.geterr() if np is not None else None
    bindings = {}  # user_ns name -> object, for names that the sheet's own cells define
    # PyTorch wraps some of its own functions (torch.manual_seed) for its compiler when the first
    # optimizer is made, with the wrapper that torch._compile._disable_dynamo defines. Its code
    # object is taken now, before any student code runs, so that a look-alike is not accepted.
    disable_dynamo = getattr(sys.modules.get("torch._compile"), "_disable_dynamo", None)
    torch_wrapper_codes = [c for c in getattr(getattr(disable_dynamo, "__code__", None), "co_consts", ())
                           if isinstance(c, types.CodeType)]

    def wrapped_by_torch(new, old):
        """True if ``new`` is PyTorch's own compiler wrapper around the very function ``old``."""
        if not isinstance(new, types.FunctionType) or not any(new.__code__ is c for c in torch_wrapper_codes):
            return False
        if getattr(new, "__wrapped__", None) is not old:
            return False
        for cell in new.__closure__ or ():
            try:
                if cell.cell_contents is old:
                    return True
            except ValueError:  # an empty cell
                continue
        return False

    def from_kernel(callback):
        module = getattr(getattr(callback, "__func__", callback), "__module__", "") or ""
        return module.split(".")[0] in ("matplotlib_inline", "matplotlib", "IPython", "ipykernel", "ipywidgets")

    def check(touched=()):
        found = []
        for key, (owner, original) in lists_before.items():
            if getattr(owner, key) is not list_objects[key]:
                found.append(f"IPython's {key} list was replaced")
                setattr(owner, key, list_objects[key])
            current = list_objects[key]
            if list(current) != original:
                found.append(f"IPython's {key} were changed (input or AST transformers rewrite cells)")
                current[:] = original
        for event, original in events_before.items():
            current = ip.events.callbacks.get(event, [])
            added = [c for c in current if c not in original and not from_kernel(c)]
            if added:
                found.append(f"callbacks were registered for the IPython event '{event}'")
                current[:] = [c for c in current if c not in added]
            original[:] = list(current)  # matplotlib's inline backend registers its own
        for attribute, original in attributes_before.items():
            if getattr(ip, attribute, None) is not original:
                found.append(f"the IPython shell's {attribute} was replaced")
                setattr(ip, attribute, original)
        for cls, original in classes_before.items():
            current = vars(cls)
            for key, value in original.items():
                if current.get(key, None) is not value:
                    found.append(f"{cls.__module__}.{cls.__name__}.{key} was replaced")
                    setattr(cls, key, value)
            for key in [k for k in current if k not in original]:
                if callable(current[key]) or isinstance(current[key], (property, staticmethod, classmethod)):
                    found.append(f"{cls.__module__}.{cls.__name__}.{key} was added")
                    delattr(cls, key)
        for obj, original in instance_before.values():
            current = vars(obj)
            for key, value in list(current.items()):
                if not any(key in vars(c) and callable(vars(c)[key]) for c in type(obj).__mro__):
                    continue
                if key in original and value is original[key]:
                    continue
                found.append(f"the method {type(obj).__name__}.{key} was overridden on the object")
                if key in original:
                    current[key] = original[key]
                else:
                    del current[key]
        for hook, original in hooks_before.items():
            if getattr(sys, hook) is not original:
                found.append(f"sys.{hook} was replaced")
                setattr(sys, hook, original)
        if sys.gettrace() is not None or sys.getprofile() is not None:
            found.append("a trace or profile function was installed (sys.settrace / sys.setprofile)")
            sys.settrace(None)
            sys.setprofile(None)
        for name, (module, original) in modules_before.items():
            if sys.modules.get(name) is not module:
                found.append(f"the module {name} was replaced in sys.modules")
                sys.modules[name] = module
            current = vars(module)
            for key, value in original.items():
                if current.get(key, None) is not value and wrapped_by_torch(current.get(key, None), value):
                    original[key] = current[key]  # PyTorch's doing, not the student's
                    codes_before[(name, key)] = current[key].__code__
                elif current.get(key, None) is not value:
                    found.append(f"{name}.{key} was replaced")
                    current[key] = value
                elif isinstance(value, types.FunctionType) and value.__code__ is not codes_before[(name, key)]:
                    found.append(f"the code of {name}.{key} was replaced")
                    value.__code__ = codes_before[(name, key)]
        ns = ip.user_ns
        for name, original in bindings.items():
            if name not in touched and ns.get(name, None) is not original:
                found.append(f"the name {name!r}, defined by the sheet, was redefined or deleted")
                ns[name] = original
        if os.environ.get("NBGRADER_EXECUTION") != env_before:
            found.append("grading mode was switched off (NBGRADER_EXECUTION changed)")
            os.environ["NBGRADER_EXECUTION"] = env_before
        if signal.getsignal(signal.SIGINT) is not sigint_before:
            found.append("the handler for interrupts (SIGINT) was replaced")
            try:
                signal.signal(signal.SIGINT, sigint_before)
            except ValueError:  # not in the main thread: the time limit still applies
                pass
        if np is not None and np.geterr() != numpy_errors_before:
            found.append("numpy's floating-point error handling was changed (np.seterr)")
            np.seterr(**numpy_errors_before)
        if os.getcwd() != cwd_before:
            os.chdir(cwd_before)  # harmless, but tests expect the notebook's folder
        return found

    checking = [0.0]  # CPU seconds spent in the checks, reported with every answer

    def guard(phase, names=(), touched=()):
        begin = time.process_time()
        found = check(set(touched) if phase == "record" else ())
        if phase == "record":
            for name in [*touched, *names]:
                if name in ip.user_ns and (name in names or name in bindings):
                    bindings[name] = ip.user_ns[name]
                elif name in bindings:
                    del bindings[name]  # the cell deleted it on purpose
        checking[0] += time.process_time() - begin
        return json.dumps({"nonce": nonce, "found": found, "cpu": time.process_time(), "check_cpu": checking[0]})

    name = "__coursegrade_" + nonce
    ip.user_ns[name] = guard
    ip.user_ns_hidden[name] = guard
    builtins.__dict__.setdefault("__coursegrade_installed__", True)
    return json.dumps({"nonce": nonce, "found": [], "cpu": time.process_time(), "start_cpu": cpu_start,
                       "import_cpu": cpu_imports - cpu_start, "import_cpu_by_module": import_cpu, "snapshot_cpu": time.process_time() - cpu_imports})
