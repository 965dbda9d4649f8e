"""Checks against kernel-state tampering, worker side.

``install_expression`` / ``check_expression`` are the texts the worker sends to the kernel as
``user_expressions`` (see kernel_guard.py); ``scan`` reads the code a student wrote or changed
and names every construct that can change how the tests behave. A scan hit is not a verdict:
it flags the submission for a teacher to look at.
"""

import ast
import inspect
import json
import re

from coursegrade import kernel_guard

# Modules whose functions the guard snapshots: whole families (submodules included) and single
# modules of large libraries (checking all of torch's 1500 modules would cost a second per cell).
WATCHED_ROOTS = ("builtins", "numpy", "dlcourse", "math", "warnings", "traceback", "unittest")
WATCHED_MODULES = ("torch", "torch.testing", "torch.nn.functional", "torch.autograd", "torch.autograd.functional",
                   "sympy", "matplotlib", "matplotlib.figure", "matplotlib.pyplot", "inspect",
                   "IPython.core.interactiveshell", "ipykernel.zmqshell", "ipykernel.ipkernel", "jupyter_client.session")
# Modules imported before any student code, so that their originals are the ones kept.
ALWAYS_IMPORT = ("numpy", "numpy.testing", "math", "warnings", "traceback")

_SOURCE = inspect.getsource(kernel_guard)


def install_expression(nonce, modules):
    """A user expression that defines and installs the guard in the kernel."""
    modules = list(dict.fromkeys([*ALWAYS_IMPORT, *modules]))
    call = f"\n_result = install({nonce!r}, {modules!r}, {WATCHED_ROOTS!r}, {WATCHED_MODULES!r})\n"
    return f"(lambda ns: (exec({(_SOURCE + call)!r}, ns), ns['_result'])[1])({{'__name__': 'coursegrade_guard'}})"


def check_expression(nonce, phase, names=(), touched=()):
    """names: what the cell just run defines (recorded); touched: every name it binds or deletes
    itself (a test may redefine or delete the sheet's names: not a change to flag)."""
    return f"__coursegrade_{nonce}({phase!r}, {list(names)!r}, {sorted(set(touched))!r})"


def reply_payload(reply, nonce, expression_key="guard"):
    """The guard's whole answer from an execute_reply (findings and the kernel's CPU times);
    None if the guard did not answer (removed or replaced by the kernel's code)."""
    result = reply.get("content", {}).get("user_expressions", {}).get(expression_key)
    if not result or result.get("status") != "ok":
        return None
    text = result.get("data", {}).get("text/plain", "")
    try:
        payload = json.loads(ast.literal_eval(text))  # the repr of a str, produced by IPython
    except Exception:
        return None
    if not isinstance(payload, dict) or payload.get("nonce") != nonce:
        return None
    return payload


def parse_reply(reply, nonce, expression_key="guard"):
    """The findings of one guard call; None if the guard did not answer."""
    payload = reply_payload(reply, nonce, expression_key)
    return None if payload is None else [str(item) for item in payload.get("found", [])]


# What a student's code may use to change how tests behave, and the plain-language reason.
SUSPICIOUS = [
    (r"get_ipython|\bIPython\b|ipykernel|jupyter_client|\bzmq\b", "talks to the IPython shell or kernel"),
    (r"input_transformer|ast_transformer|\bevents\.register", "changes how cells are read or run"),
    (r"excepthook|showtraceback|set_custom_exc|_render_traceback_|CustomTB|InteractiveTB", "changes how errors are reported"),
    (r"settrace|setprofile|addaudithook|sys\.monitoring", "installs trace or audit hooks"),
    (r"sys\.modules|\bbuiltins\b|__builtins__|importlib|__import__", "replaces modules or built-ins"),
    (r"\b(np|numpy|torch|dlcourse|math|warnings|plt|sp|sympy)\s*(\.\s*\w+)+\s*=[^=]", "assigns to a library attribute"),
    (r"setattr\s*\(|__code__|__globals__|globals\s*\(\s*\)|\bgc\.|ctypes|\binspect\b", "reaches into other code"),
    (r"__array_function__|__array_ufunc__|__array_priority__|__eq__|__bool__|__torch_function__",
     "defines comparison or array-protocol hooks"),
    (r"\bexec\s*\(|\beval\s*\(|\bcompile\s*\(", "runs generated code"),
    (r"NBGRADER_EXECUTION|os\.environ", "changes environment variables (grading mode)"),
    (r"os\._exit|os\.kill|signal\.|subprocess|os\.system|os\.fork|multiprocessing|socket", "starts, stops or signals processes"),
    (r"seterr|errstate", "changes numpy's floating-point error handling"),
    (r"dlcourse\.rules|\bRULES\b", "changes the rules a test puts in force (dlcourse.rules: no differentiation, no autograd)"),
]
_SUSPICIOUS = [(re.compile(pattern), reason) for pattern, reason in SUSPICIOUS]


def scan(cells):
    """Flags for the code a student wrote: [(cell label, line number, reason, line)]."""
    flags = []
    for label, source in cells:
        for number, line in enumerate(source.splitlines(), 1):
            code = line.split("#", 1)[0]
            for pattern, reason in _SUSPICIOUS:
                if pattern.search(code):
                    flags.append((label, number, reason, line.strip()[:160]))
    return flags
