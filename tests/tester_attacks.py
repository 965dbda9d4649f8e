"""Hostile submissions aimed at grading with the tests in the tester (coursegrade/tester.py):
each tries from the student's kernel to earn points its honest code does not, to see a hidden
test, or to reach the trusted process. Made from sheet 01's honest submissions
(grading_corpus.corpus adds them to its batch); each must earn exactly what its base earns.
"""

import textwrap

import nbformat

# The kernel's replies to the grader's requests, forged: every call "returns" True, every name
# "is" a module the tester would import (kernel.session is reachable from the student's code).
FORGE_REPLIES = """
import json
kernel = get_ipython().kernel
send = kernel.session.send
forged = repr(json.dumps({"kind": "module", "module": "unittest.mock", "out": "true", "warnings": "[]", "args": "null"}))

def forging(stream, kind, content=None, parent=None, *args, **kwargs):
    if kind == "execute_reply" and isinstance(content, dict) and content.get("user_expressions"):
        content = dict(content, status="ok")
        content["user_expressions"] = {k: {"status": "ok", "data": {"text/plain": forged}, "metadata": {}}
                                       for k in content["user_expressions"]}
    return send(stream, kind, content, parent, *args, **kwargs)

kernel.session.send = forging
"""

# The grader's call handler in the kernel, replaced by one that answers every request itself.
FAKE_HANDLER = """
import json
handler = globals().get("__coursegrade_serve")
print("the call handler is there:", handler is not None)
if handler is not None:
    handler.lookup = lambda namespace, name: json.dumps({"kind": "value", "data": "true"})
    handler.call = lambda namespace, request: json.dumps({"out": "true", "warnings": "[]", "args": "null"})
"""

# Answers whose comparisons always succeed: an array whose arithmetic gives zeros and which
# equals everything, a str equal to everything, a sympy expression whose difference is 0.
CHEATS = """
import numpy as np
import sympy


class Always(np.ndarray):
    def __eq__(self, other): return np.ones(self.shape, bool)
    def __sub__(self, other): return np.zeros(self.shape)
    __rsub__ = __sub__
    def __abs__(self): return np.zeros(self.shape)
    def __lt__(self, other): return np.ones(self.shape, bool)
    __le__ = __gt__ = __ge__ = __lt__


class Yes(str):
    def __eq__(self, other): return True
    __hash__ = str.__hash__


class Zero(sympy.Symbol):
    def __sub__(self, other): return sympy.Integer(0)


def cheat(*args, **kwargs):
    shape = np.shape(args[0]) if args else (2,)
    return np.zeros(shape).view(Always)
"""

# Patches of what the tests use for their verdicts, all in the kernel (the tests are elsewhere).
PATCH_LIBRARIES = """
import builtins, numpy as np, numpy.testing, sympy, torch, unittest.mock, dlcourse
np.allclose = np.isclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
sympy.simplify = lambda *a, **k: sympy.Integer(0)
dlcourse.check_gradient = lambda *a, **k: None
torch.Tensor.backward = lambda self, *a, **k: None
unittest.mock.patch = lambda *a, **k: None
_real_import = builtins.__import__
builtins.AssertionError = type("AssertionError", (Exception,), {})
"""

# True while a test calls the student's function (not while the student's own cells run): the
# grader's call handler is on the stack (a walk over the frames; nothing else is read)
CALLED_BY_A_TEST = ("__import__('builtins').any(f.f_globals.get('__name__') == 'coursegrade_serve' "
                    "for f, _ in __import__('traceback').walk_stack(__import__('sys')._getframe()))")

# Looks everywhere in the kernel for the hidden tests and their references while a test calls
# the student's function (the student's own calls in the experiments are skipped, as no test
# runs then) and once more at the end, and prints what it found.
SNOOP = """
import gc, linecache, re, sys, traceback, types
snooped = set()
IPYTHON_NAMES = re.compile(r"_(i+|\\d+|i\\d+|oh|ih|dh|)$")


def in_a_cell(code):  # code written in the notebook (the student's cells, or test cells run here)
    return re.search(r"ipykernel_\\d+/", code.co_filename) is not None


def snoop(at_the_end=False):
    if not (at_the_end or """ + CALLED_BY_A_TEST + """):  # the student's own calls: no test is running
        return
    snooped.add("at the end" if at_the_end else "while a test called")
    frames = [frame for frame, _ in traceback.walk_stack(sys._getframe())]
    snooped.update(f"frame {frame.f_code.co_name}" for frame in frames if in_a_cell(frame.f_code))
    snooped.update(f"global {name}" for name in globals() if name.startswith("_") and not name.startswith("__")
                 and not IPYTHON_NAMES.match(name))
    snooped.update(f"function {thing.__name__}" for thing in gc.get_objects()
                 if type(thing) is types.FunctionType and in_a_cell(thing.__code__) and thing.__name__.startswith("_"))
    for name in list(linecache.cache):
        snooped.update(f"line {line.strip()}" for line in linecache.getlines(name) if "BEGIN " + "HIDDEN" in line)
    snooped.update(f"history {entry[:60]}" for entry in globals().get("In", []) if "BEGIN " + "HIDDEN" in entry)
"""

# Tries to reach the tester's socket from the kernel and run its own "test" there.
TESTER_SOCKET = """
import glob, json, socket
reached = []
for path in glob.glob("/tmp/**/socket", recursive=True) + glob.glob("/tmp/coursegrade-tester-*/*"):
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(path)
            s.sendall(json.dumps({"op": "cell", "source": "open('/tmp/owned-by-student', 'w')", "count": 1}).encode() + b"\\n")
            reached.append(path)
    except OSError:
        pass
print("tester reached:", reached)
"""


def _answer_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]


def _defined(source):
    import ast

    return [n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)]


def _insert(nb, source, index=1):
    nb.cells.insert(index, nbformat.v4.new_code_cell(source))
    return nb


def _wrap(nb, function, before):
    """Add ``before`` (code) at the start of the student's ``function`` (a complete answer)."""
    for cell in _answer_cells(nb):
        if f"def {function}(" in cell.source:
            head, rest = cell.source.split(f"def {function}(", 1)
            signature, body = rest.split("\n", 1)
            indent = textwrap.indent(textwrap.dedent(before), "    ")
            cell.source = f"{head}def {function}({signature}\n{indent}\n{body}"
            return nb
    raise ValueError(f"no answer cell defines {function}")


def cheating_answers(nb):
    """Every graded function of the sheet returns an object whose comparisons always pass."""
    nb = _insert(nb, CHEATS)
    for cell in _answer_cells(nb):
        cell.source = "\n".join(f"{name} = cheat" for name in _defined(cell.source))
    return nb


def snoop_on_tests(nb, functions=("sigmoid_grad", "plot_activations", "adam")):
    nb = _insert(nb, SNOOP)
    for function in functions:
        nb = _wrap(nb, function, "snoop()")
    nb.cells.append(nbformat.v4.new_code_cell("snoop(at_the_end=True)\nprint('found:', sorted(snooped))"))
    return nb


def forged_callbacks(nb):
    """The student's function asks the tester for call-backs the call did not give, and sends
    it nonsense, then does its work (the channel must survive)."""
    forge = ("import json, builtins\nfor question in ('nonsense', json.dumps({'callback': 7, 'args': '[[],{\"dict\":[]}]'}),\n"
             "                 json.dumps({'callback': 0, 'args': '{\"ndarray\": \"AAAA\"}'})):\n"
             "    try:\n        builtins.input(question)\n    except Exception:\n        pass")
    return _wrap(nb, "gradient_descent", forge)


def crash_in_call(nb):
    """The kernel dies while a test calls the student's function: the tests before it count, the
    rest are not run, nothing waits for a dead kernel."""
    return _wrap(nb, "sigmoid_grad", f"if {CALLED_BY_A_TEST}:\n    __import__('os')._exit(1)")


def endless_callbacks(nb):
    """The student's function calls the test's reference (a call-back) forever: the test runs out
    of time, the other tests are graded as usual."""
    return _wrap(nb, "plot_activations", f"while {CALLED_BY_A_TEST}:\n    sigmoid(np.zeros(3))")


def huge_answer(nb):
    nb = _insert(nb, "import numpy as np\n")
    for cell in _answer_cells(nb):
        if "def sigmoid(" in cell.source:
            cell.source = "def sigmoid(x):\n    return np.zeros(2 * 10**7)\n\n\ndef softmax(z, axis=-1):\n    raise NotImplementedError"
    return nb


def attacks(variant):
    """Add this module's submissions to a corpus (grading_corpus.corpus's ``variant``); attacks
    on complete work share one submission (patched libraries, forged call-backs, snooping): each
    alone can only keep or lower what the work earns, together they must keep it."""
    variant("forged_replies", "untouched", lambda nb: _insert(nb, FORGE_REPLIES))
    variant("fake_handler", "untouched", lambda nb: _insert(nb, FAKE_HANDLER))
    variant("cheating_answers", "untouched", cheating_answers)
    variant("snoop", "complete", lambda nb: snoop_on_tests(forged_callbacks(_insert(nb, PATCH_LIBRARIES))))
    variant("tester_socket", "untouched", lambda nb: _insert(nb, TESTER_SOCKET))
    variant("crash_in_call", "complete", crash_in_call)
    variant("endless_callbacks", "complete", endless_callbacks)
    variant("huge_answer", "untouched", huge_answer)


# Sheet 02: sympy answers, the no-differentiation rule, training with swapped-in references.

SYMPY_CHEAT = """
import sympy as sp


class Zero(sp.Symbol):  # equal to everything, its difference to anything is 0
    def __sub__(self, other): return sp.Integer(0)
    def __eq__(self, other): return True
    __hash__ = sp.Symbol.__hash__


sp.simplify = lambda *a, **k: sp.Integer(0)
"""

# The kernel's encoder, changed so that a sympy answer arrives as code for the tester to run.
FORGED_SYMPY_TEXT = """
serve = globals()["__coursegrade_serve"]
real_dumps = serve.wire.dumps
serve.wire.dumps = lambda value, *a, **k: real_dumps(value, *a, **k).replace(
    "Symbol", "__import__('os').system('touch /tmp/tester-owned') or Symbol")
"""

SWITCH_RULE_OFF = """
import contextlib
import dlcourse.rules
dlcourse.rules.RULES["no differentiation"] = contextlib.nullcontext
"""


def _replace_function(nb, name, source):
    """The answer cell that defines ``name`` gets ``source`` in its place (the rest stays)."""
    for cell in _answer_cells(nb):
        if f"def {name}(" in cell.source or f"class {name}(" in cell.source:
            cell.source = cell.source + "\n\n\n" + textwrap.dedent(source)
            return nb
    raise ValueError(f"no answer cell defines {name}")


def sympy_cheat(nb):
    nb = _insert(nb, SYMPY_CHEAT)
    return _replace_function(nb, "sigmoid_derivative_expression", "def sigmoid_derivative_expression(z):\n    return Zero('z')\n")


def forged_sympy_text(nb):
    nb = _insert(nb, FORGED_SYMPY_TEXT)
    return _replace_function(nb, "sigmoid_derivative_expression", "def sigmoid_derivative_expression(z):\n    return z\n")


def rule_switched_off(nb):
    """sp.diff where the task asks for the derivative by hand, with the rule switched off in the
    kernel: the limit of running the student's code in the student's process (README)."""
    nb = _insert(nb, SWITCH_RULE_OFF)
    return _replace_function(nb, "sigmoid_derivative_expression",
                             "def sigmoid_derivative_expression(z):\n    return sp.diff(1 / (1 + sp.exp(-z)), z)\n")


def forged_kernel(nb):
    """The kernel's replies forged, the call handler replaced and active content (scripts, event
    handlers) in a markdown cell and an output, on untouched work (sheet 01's batch has these one
    by one; here, together, on every other sheet)."""
    import base64

    from grading_corpus import ACTIVE

    nb.cells.insert(1, nbformat.v4.new_markdown_cell(ACTIVE))
    hidden = base64.b64encode(ACTIVE.encode()).decode()  # the code itself shows none of it
    nb = _insert(nb, f"import base64\nfrom IPython.display import HTML, display\n"
                     f"display(HTML(base64.b64decode({hidden!r}).decode()))")
    return _insert(_insert(nb, FAKE_HANDLER), FORGE_REPLIES)


def sheet02_attacks(variant):
    variant("forged_kernel", "untouched", forged_kernel)
    variant("sympy_cheat", "untouched", sympy_cheat)
    variant("forged_sympy_text", "untouched", forged_sympy_text)
    variant("snoop", "complete", lambda nb: snoop_on_tests(nb, ("train_logistic", "plot_zeta")))
    variant("rule_switched_off", "untouched", rule_switched_off)


# Sheet 05: the references are PyTorch's own functions and autograd; two rules (no autograd, no
# differentiation) are put in force in the kernel around the calls.

PATCH_TORCH = """
import torch, torch.nn.functional
torch.relu = torch.nn.functional.softplus = torch.nn.functional.elu = lambda *a, **k: torch.zeros(1)
torch.sigmoid = torch.nn.functional.logsigmoid = lambda *a, **k: torch.zeros(1)
torch.autograd.grad = lambda *a, **k: (torch.zeros(1),)
torch.Tensor.backward = lambda self, *a, **k: None
"""

AUTOGRAD_BEHIND_THE_RULE = """
import contextlib
import dlcourse.rules
dlcourse.rules.RULES["no autograd"] = contextlib.nullcontext


def layer_backward(W, x, z_hat):
    import torch
    with torch.enable_grad():
        Wt, xt = torch.tensor(W, requires_grad=True), torch.tensor(x, requires_grad=True)
        (torch.tensor(z_hat) @ torch.sigmoid(Wt @ xt)).backward()
    return xt.grad.numpy(), Wt.grad.numpy()
"""


def autograd_behind_the_rule(nb):
    """Autograd where the task asks for gradients by hand, with the rule switched off in the
    kernel and autograd switched on again inside: the README's stated limit."""
    for cell in _answer_cells(nb):
        if "def layer_backward(" in cell.source:
            cell.source = cell.source + "\n\n\n" + AUTOGRAD_BEHIND_THE_RULE
    return nb


def sheet05_attacks(variant):
    """Three submissions, two with several attacks (a sheet-05 notebook takes seconds to grade):
    patched references and snooping on complete work (must earn what it earns), a cheating
    sympy answer beside autograd behind a switched-off rule on untouched work (must earn B.1's
    points only: the stated limit)."""
    variant("forged_kernel", "untouched", forged_kernel)
    variant("snoop", "complete", lambda nb: snoop_on_tests(_insert(nb, PATCH_TORCH), ("layer_backward", "smoothness_class")))
    variant("rule_switched_off", "untouched", lambda nb: autograd_behind_the_rule(_replace_function(
        _insert(nb, SYMPY_CHEAT), "relu_derivative_expression", "def relu_derivative_expression(x):\n    return Zero('x')\n")))


# Sheet 04: models, optimizers and data cross the boundary (wire.Objects keeps them the test's
# own objects); the tests compare weights and statistics, and chain_grads runs under "no autograd".

PATCH_CHECKS = """
import numpy as np, torch
torch.allclose = torch.equal = lambda *a, **k: True
np.allclose = np.isclose = lambda *a, **k: True
"""

# Objects that pass every check in the student's own process: an optimizer that is both SGD and
# Adam with options that equal anything, a network that claims the layers the test looks for,
# a history whose arrays equal everything.
FORGED_OBJECTS = CHEATS + """
import torch
from torch import nn


class AnyOption(dict):  # every option equals anything (the parameters are the real ones)
    def __getitem__(self, key): return dict.__getitem__(self, key) if key == "params" else Yes("")
    def __contains__(self, key): return True


class Both(torch.optim.Adam, torch.optim.SGD):  # what isinstance sees
    pass


class BothOptimizers(torch.optim.Adam):
    def __init__(self, params):
        super().__init__(params)
        self.param_groups = [AnyOption(group) for group in self.param_groups]

    @property
    def __class__(self):
        return Both


class AnyNet(nn.Sequential):
    def __iter__(self): return iter([nn.Flatten(), nn.Linear(784, 50), nn.Sigmoid(), nn.Linear(50, 30), nn.Sigmoid(), nn.Linear(30, 10)])
"""
FORGED_FUNCTIONS = {
    "make_optimizer": "def make_optimizer(name, params, lr=None):  # Adam with its defaults, whatever was asked\n"
                      "    if name not in ('sgd', 'adam') or name == 'sgd' and lr is None:\n"
                      "        raise ValueError(name)\n"
                      "    return BothOptimizers(params)\n",
    "make_mlp": "def make_mlp(hidden, activation='sigmoid', init='default', inputs=784):\n"
                "    return AnyNet(nn.Flatten(), nn.Linear(inputs, 10))\n",
    "train_classifier": "def train_classifier(model, optimizer, data, epochs, batch_size=64, seed=0):\n"
                        "    return {k: cheat(np.zeros(epochs)) for k in ('train_accuracy', 'test_accuracy', 'grad_norms')}\n"}


def forged_objects(nb):
    nb = _insert(nb, FORGED_OBJECTS)
    for name, source in FORGED_FUNCTIONS.items():
        nb = _replace_function(nb, name, source)
    return nb

CHAIN_GRADS_BEHIND_THE_RULE = """
import contextlib
import dlcourse.rules
dlcourse.rules.RULES["no autograd"] = contextlib.nullcontext


def chain_grads(ws, x, act):
    import torch
    if act not in ("sigmoid", "relu"):
        raise ValueError(act)
    with torch.enable_grad():
        w_t = torch.tensor(np.asarray(ws, dtype=float), requires_grad=True)
        h_t = torch.tensor(float(x), dtype=torch.float64)
        for k in range(len(w_t)):
            h_t = torch.sigmoid(w_t[k] * h_t) if act == "sigmoid" else torch.relu(w_t[k] * h_t)
        h_t.backward()
    return w_t.grad.numpy()
"""


def sheet04_attacks(variant):
    variant("forged_kernel", "untouched", forged_kernel)
    variant("snoop", "complete", lambda nb: snoop_on_tests(_insert(nb, PATCH_CHECKS), ("init_weights", "train_classifier")))
    variant("forged_objects", "untouched", forged_objects)
    variant("rule_switched_off", "untouched", lambda nb: _replace_function(nb, "chain_grads", CHAIN_GRADS_BEHIND_THE_RULE))


# Sheet 03: the student's network lives in the kernel (the tester holds handles), the tests'
# stand-in classes are defined on both sides, autograd graphs and differentiable test functions
# cross, and the sheet's given helpers (random_params) are the tester's own.

TENSOR_CHEATS = CHEATS + """
import torch
from torch import nn


class AlwaysTensor(torch.Tensor):  # every comparison of torch's says yes
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})


class CheatingNet(nn.Module):
    def __init__(self, hidden=2):
        super().__init__()
        self.hidden_layer, self.output_layer = nn.Linear(2, hidden), nn.Linear(hidden, 1)

    def forward(self, x):
        return torch.full((len(x),), 0.5).as_subclass(AlwaysTensor)
"""

CHEATING_FUNCTIONS = {
    "random_params": "def random_params(rng, scale=1.0):  # every hidden case gets zeros\n"
                     "    return {'W_i': np.zeros((2, 2)), 'b_a': 0.0, 'W_o': np.zeros(2), 'b_o': 0.0}\n",
    "xor_forward": "def xor_forward(params, x):  # right for zero parameters only\n"
                   "    return {'a': np.zeros(2), 'h': np.full(2, 0.5), 'z': 0.0, 'y_hat': 0.5}\n",
    "XORNet": "XORNet = CheatingNet\n",
    "hessian_eigenvalues": "def hessian_eigenvalues(f, p):\n    return np.array([-2.0, 2.0]).view(Always)\n",
}


def sheet03_cheats(nb):
    nb = _insert(nb, TENSOR_CHEATS)
    for name, source in CHEATING_FUNCTIONS.items():
        nb = _replace_function(nb, name, source) if name != "random_params" else _after_given(nb, name, source)
    return nb


def _after_given(nb, name, source):
    """The sheet's own ``name`` (a given cell) replaced in the kernel by ``source``."""
    for index, cell in enumerate(nb.cells):
        flags = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and f"def {name}(" in cell.source and not flags.get("solution") and not flags.get("grade"):
            nb.cells.insert(index + 1, nbformat.v4.new_code_cell(source))
            return nb
    raise ValueError(f"no given cell defines {name}")


PATCH_VERDICTS = """
import numpy as np, torch
np.allclose = np.isclose = lambda *a, **k: True
torch.allclose = torch.equal = lambda *a, **k: True
np.linalg.eigvalsh = lambda a: np.array([-2.0, 2.0])
np.linalg.solve = lambda a, b: np.zeros(2)
"""


def sheet03_attacks(variant):
    variant("forged_kernel", "untouched", forged_kernel)
    variant("snoop", "complete", lambda nb: snoop_on_tests(_insert(nb, PATCH_VERDICTS),
                                                           ("walk_autograd_graph", "train_xor", "hessian_eigenvalues")))
    variant("cheating_objects", "untouched", sheet03_cheats)
