"""Code that runs INSIDE the student's kernel (sent as text by the worker, never imported there).

``install`` runs before any student code. It imports the modules the sheet uses, then keeps
references to everything a test relies on (three snapshots: ``ShellSnapshot``, the IPython
shell's input and AST transformers, its traceback and execution machinery, the kernel's
messaging; ``ProcessSnapshot``, the exception hook, the grading-mode variable, the SIGINT
handler and numpy's error state; ``ModuleSnapshot``, the functions of the watched modules).
The ``Guard`` it installs, called as ``guard(phase, names, touched)``, compares the kernel
with them, puts back what was changed and reports each change. The worker calls it through
``user_expressions`` (which IPython evaluates without input transformers) before and after
every test cell. The module is plain Python, linted and unit-tested like the rest; the worker
sends its whole source to the kernel as text (``guard.install_expression``).

Kernel code that is determined to cheat could still defeat checks that live in the same
process; the worker therefore also scans the student's source (see ``guard.scan``) and flags
every submission where something had to be put back, for a teacher to look at.
"""

import builtins
import importlib
import json
import os
import signal
import sys
import time
import types

# Where the kernel's own packages register IPython event callbacks (not the student's doing).
KERNEL_PACKAGES = ("matplotlib_inline", "matplotlib", "IPython", "ipykernel", "ipywidgets")
# The IPython shell's attributes that must stay the very same objects.
SHELL_ATTRIBUTES = ("compile", "displayhook", "display_pub", "InteractiveTB", "SyntaxTB", "CustomTB",
                    "custom_exceptions", "user_ns", "kernel", "events", "input_transformer_manager")


def install(nonce, modules, watched_roots, watched_modules_exact):
    """Import ``modules``, take the snapshot and put the guard into the shell's namespace under
    ``__coursegrade_<nonce>`` (hidden from the user's ``who``). Returns the CPU times as JSON."""
    from IPython import get_ipython

    cpu_start = time.process_time()  # what starting Python and the kernel cost
    ip = get_ipython()
    import_cpu = import_modules(modules)
    cpu_imports = time.process_time()
    guard = Guard(nonce, ip, watched_roots, watched_modules_exact)
    name = "__coursegrade_" + nonce
    ip.user_ns[name] = guard
    ip.user_ns_hidden[name] = guard
    builtins.__dict__.setdefault("__coursegrade_installed__", True)
    return json.dumps({"nonce": nonce, "found": [], "cpu": time.process_time(), "start_cpu": cpu_start,
                       "import_cpu": cpu_imports - cpu_start, "import_cpu_by_module": import_cpu,
                       "snapshot_cpu": time.process_time() - cpu_imports})


def import_modules(modules):
    """Import the modules the sheet uses before any student code, so that the originals are the
    ones kept. Returns CPU seconds per module (what a module it pulls in costs is counted once,
    for the first)."""
    import_cpu = {}
    for name in modules:
        begin = time.process_time()
        try:
            importlib.import_module(name)
        except Exception:  # a module the sheet imports but this machine lacks: the cell will say so
            pass
        import_cpu[name] = time.process_time() - begin
    return import_cpu


class Guard:
    """``guard(phase, names, touched)``: every check, in order; with phase "record" it also
    records the names the cell just run defines. Returns the findings as JSON."""

    def __init__(self, nonce, ip, watched_roots, watched_modules_exact):
        self.nonce = nonce
        self.ip = ip
        self.shell = ShellSnapshot(ip)
        self.process = ProcessSnapshot()
        self.modules = ModuleSnapshot(watched_roots, watched_modules_exact)
        self.bindings = {}  # user_ns name -> object, for names that the sheet's own cells define
        self.checking = 0.0  # CPU seconds spent in the checks, reported with every answer

    def __call__(self, phase, names=(), touched=()):
        begin = time.process_time()
        found = self.shell.check() + self.process.check_hooks() + self.modules.check()
        found += self.check_bindings(set(touched) if phase == "record" else ())
        found += self.process.check_settings()
        if phase == "record":
            self.record(names, touched)
        self.checking += time.process_time() - begin
        return json.dumps({"nonce": self.nonce, "found": found, "cpu": time.process_time(),
                           "check_cpu": self.checking})

    def check_bindings(self, touched):
        """The sheet's names are still bound to what its cells defined (a test cell may change
        the names it binds or deletes itself: ``touched``)."""
        found, ns = [], self.ip.user_ns
        for name, original in self.bindings.items():
            if name not in touched and ns.get(name, None) is not original:
                found.append(f"the name {name!r}, defined by the sheet, was redefined or deleted")
                ns[name] = original
        return found

    def record(self, names, touched):
        for name in [*touched, *names]:
            if name in self.ip.user_ns and (name in names or name in self.bindings):
                self.bindings[name] = self.ip.user_ns[name]
            elif name in self.bindings:
                del self.bindings[name]  # the cell deleted it on purpose


class ShellSnapshot:
    """The IPython shell's input and AST transformers, event callbacks, attributes, and the
    classes and methods of its execution, display and messaging machinery."""

    def __init__(self, ip):
        self.ip = ip
        itm = ip.input_transformer_manager
        self.lists = {
            "input_transformers_cleanup": (ip, list(ip.input_transformers_cleanup)),
            "input_transformers_post": (ip, list(ip.input_transformers_post)),
            "ast_transformers": (ip, list(ip.ast_transformers)),
            "line_transforms": (itm, list(itm.line_transforms)),
            "cleanup_transforms": (itm, list(itm.cleanup_transforms)),
        }
        self.list_objects = {key: getattr(owner, key) for key, (owner, _) in self.lists.items()}
        self.events = {event: list(callbacks) for event, callbacks in ip.events.callbacks.items()}
        self.attributes = {a: getattr(ip, a, None) for a in SHELL_ATTRIBUTES}
        machinery = [ip, ip.kernel, ip.kernel.session, ip.displayhook, ip.display_pub, ip.compile, ip.events]
        classes = {cls for obj in machinery for cls in type(obj).__mro__ if cls is not object}
        self.classes = {cls: dict(vars(cls)) for cls in classes}
        self.instances = {id(obj): (obj, {k: v for k, v in vars(obj).items() if callable(v)}) for obj in machinery}

    def check(self):
        return (self.check_lists() + self.check_events() + self.check_attributes() + self.check_classes()
                + self.check_instances())

    def check_lists(self):
        found = []
        for key, (owner, original) in self.lists.items():
            if getattr(owner, key) is not self.list_objects[key]:
                found.append(f"IPython's {key} list was replaced")
                setattr(owner, key, self.list_objects[key])
            current = self.list_objects[key]
            if list(current) != original:
                found.append(f"IPython's {key} were changed (input or AST transformers rewrite cells)")
                current[:] = original
        return found

    def check_events(self):
        found = []
        for event, original in self.events.items():
            current = self.ip.events.callbacks.get(event, [])
            added = [c for c in current if c not in original and not from_kernel(c)]
            if added:
                found.append(f"callbacks were registered for the IPython event '{event}'")
                current[:] = [c for c in current if c not in added]
            original[:] = list(current)  # matplotlib's inline backend registers its own
        return found

    def check_attributes(self):
        found = []
        for attribute, original in self.attributes.items():
            if getattr(self.ip, attribute, None) is not original:
                found.append(f"the IPython shell's {attribute} was replaced")
                setattr(self.ip, attribute, original)
        return found

    def check_classes(self):
        found = []
        for cls, original in self.classes.items():
            current = vars(cls)
            for key, value in original.items():
                if current.get(key, None) is not value:
                    found.append(f"{cls.__module__}.{cls.__name__}.{key} was replaced")
                    setattr(cls, key, value)
            for key in [k for k in current if k not in original]:
                if callable(current[key]) or isinstance(current[key], (property, staticmethod, classmethod)):
                    found.append(f"{cls.__module__}.{cls.__name__}.{key} was added")
                    delattr(cls, key)
        return found

    def check_instances(self):
        found = []
        for obj, original in self.instances.values():
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
        return found


def from_kernel(callback):
    """True if an event callback belongs to the kernel's own packages."""
    module = getattr(getattr(callback, "__func__", callback), "__module__", "") or ""
    return module.split(".")[0] in KERNEL_PACKAGES


class ProcessSnapshot:
    """Hooks and settings of the Python process: exception and breakpoint hooks, trace and
    profile functions, the grading-mode variable, the SIGINT handler, numpy's error state and
    the working folder."""

    def __init__(self):
        self.hooks = {"excepthook": sys.excepthook, "breakpointhook": sys.breakpointhook}
        self.sigint = signal.getsignal(signal.SIGINT)
        self.env = os.environ.get("NBGRADER_EXECUTION")
        self.cwd = os.getcwd()
        self.np = sys.modules.get("numpy")
        self.numpy_errors = self.np.geterr() if self.np is not None else None

    def check_hooks(self):
        found = []
        for hook, original in self.hooks.items():
            if getattr(sys, hook) is not original:
                found.append(f"sys.{hook} was replaced")
                setattr(sys, hook, original)
        if sys.gettrace() is not None or sys.getprofile() is not None:
            found.append("a trace or profile function was installed (sys.settrace / sys.setprofile)")
            sys.settrace(None)
            sys.setprofile(None)
        return found

    def check_settings(self):
        found = []
        if os.environ.get("NBGRADER_EXECUTION") != self.env:
            found.append("grading mode was switched off (NBGRADER_EXECUTION changed)")
            os.environ["NBGRADER_EXECUTION"] = self.env
        if signal.getsignal(signal.SIGINT) is not self.sigint:
            found.append("the handler for interrupts (SIGINT) was replaced")
            try:
                signal.signal(signal.SIGINT, self.sigint)
            except ValueError:  # not in the main thread: the time limit still applies
                pass
        if self.np is not None and self.np.geterr() != self.numpy_errors:
            found.append("numpy's floating-point error handling was changed (np.seterr)")
            self.np.seterr(**self.numpy_errors)
        if os.getcwd() != self.cwd:
            os.chdir(self.cwd)  # harmless, but tests expect the notebook's folder
        return found


def is_tracked(value):
    """Module members the guard keeps: functions, built-ins, modules, classes, and numpy's and
    torch's other callables (ufuncs)."""
    return isinstance(value, (types.FunctionType, types.BuiltinFunctionType, types.ModuleType, type)) or (
        callable(value) and type(value).__module__.split(".")[0] in ("numpy", "torch")
    )


class ModuleSnapshot:
    """The tracked members (and functions' code) of the watched modules: whole families by
    their first name (``roots``) and single modules (``exact``)."""

    def __init__(self, roots, exact):
        watched = {name: module for name, module in list(sys.modules.items())
                   if isinstance(module, types.ModuleType) and (name.split(".")[0] in roots or name in exact)}
        self.members = {name: (m, {k: v for k, v in vars(m).items() if is_tracked(v)}) for name, m in watched.items()}
        self.codes = {(name, key): value.__code__ for name, (_, members) in self.members.items()
                      for key, value in members.items() if isinstance(value, types.FunctionType)}
        self.torch_wrapper_codes = torch_wrapper_codes()

    def check(self):
        found = []
        for name, (module, original) in self.members.items():
            if sys.modules.get(name) is not module:
                found.append(f"the module {name} was replaced in sys.modules")
                sys.modules[name] = module
            current = vars(module)
            for key, value in original.items():
                if current.get(key, None) is not value and self.wrapped_by_torch(current.get(key, None), value):
                    original[key] = current[key]  # PyTorch's doing, not the student's
                    self.codes[(name, key)] = current[key].__code__
                elif current.get(key, None) is not value:
                    found.append(f"{name}.{key} was replaced")
                    current[key] = value
                elif isinstance(value, types.FunctionType) and value.__code__ is not self.codes[(name, key)]:
                    found.append(f"the code of {name}.{key} was replaced")
                    value.__code__ = self.codes[(name, key)]
        return found

    def wrapped_by_torch(self, new, old):
        """True if ``new`` is PyTorch's own compiler wrapper around the very function ``old``."""
        if not isinstance(new, types.FunctionType) or not any(new.__code__ is c for c in self.torch_wrapper_codes):
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


def torch_wrapper_codes():
    """PyTorch wraps some of its own functions (torch.manual_seed) for its compiler when the
    first optimizer is made, with the wrapper that torch._compile._disable_dynamo defines. Its
    code objects are taken at the snapshot, before any student code runs, so that a look-alike
    is not accepted."""
    disable_dynamo = getattr(sys.modules.get("torch._compile"), "_disable_dynamo", None)
    return [c for c in getattr(getattr(disable_dynamo, "__code__", None), "co_consts", ())
            if isinstance(c, types.CodeType)]
