"""The kernel's side of a test cell that runs in the tester (tester.py).

Sent to the student's kernel as text, together with wire.py, and run there in a dict of its
own (``install``). It answers two requests: what a name of the sheet is (``lookup``) and a call
of one of the student's functions (``call``). Nothing here decides a grade: whatever the kernel
sends back, through this code or code that replaced it, is the student's answer, and the
tester judges it. Arguments that are functions of the test come as call-backs: the stand-in asks
the tester through the kernel's input channel (an input request the worker forwards).
"""

import builtins
import contextlib
import json
import random
import sys
import time
import types
import warnings

import numpy as np

wire = None  # wire.py's namespace, set by install
objects = None  # the running test cell's wire.Objects (begin)


def install(wire_namespace):
    """Take wire.py's namespace; the kernel's CPU seconds so far (for the grader's records)."""
    global wire
    wire = types.SimpleNamespace(**wire_namespace)
    return time.process_time()


def random_state():
    """The random generators' states: torch's, numpy's global one, Python's."""
    torch = sys.modules.get("torch")
    return [None if torch is None else torch.get_rng_state(), np.random.get_state(), random.getstate()]


def random_fingerprint():
    """A number that changes when a random generator has drawn (cheap: no state travels)."""
    torch = sys.modules.get("torch")
    numpy_state = np.random.get_state()
    return hash((None if torch is None else bytes(torch.get_rng_state().numpy()), numpy_state[1].tobytes(),
                 numpy_state[2:], random.getstate()))


def set_random_state(state):
    """Take the random generators' states (random_state's); a state that does not fit is left out."""
    torch = sys.modules.get("torch")
    for setter, value in zip((None if torch is None else torch.set_rng_state, np.random.set_state, random.setstate),
                             state if type(state) is list else []):
        with contextlib.suppress(Exception):  # a state from the other side that does not fit
            if setter is not None and value is not None:
                setter(value)


def begin(namespace, request):
    """A test cell begins: no object has crossed yet; the random generators' states for the test
    (so that what it draws is what it would draw in this kernel), and which of the names the
    cell binds are the notebook's functions or classes (kinds)."""
    global objects
    objects = wire.Objects(1)
    read = json.loads(request).get("read", [])
    found = {name: json.loads(lookup(namespace, name)) for name in read if type(name) is str}
    return json.dumps({"random": wire.dumps(random_state()), "kinds": kinds(namespace, request), "found": found})


def end(namespace, request):
    """A test cell ends: the random generators as the test left them (as if it had run here)."""
    global objects
    objects = None
    set_random_state(wire.loads(json.loads(request)["random"]))
    return json.dumps({})


def define(namespace, request):
    """A class of a test cell (its visible source), defined in the notebook's namespace as the
    test cell would have defined it, and known to wire under its name."""
    request = json.loads(request)
    try:
        exec(request["source"], namespace)
        kind = namespace[request["name"]]
        kind.__wire_class__ = request["name"]
        objects.classes[request["name"]] = kind
    except Exception as error:
        return json.dumps({"error": wire.dump_error(error)})
    return json.dumps({})


def attribute(namespace, request):
    """JSON: an attribute of an object that crossed (a handle's), as data, or what it raised."""
    request = json.loads(request)
    return _answer(lambda: getattr(objects.get(request["target"]), str(request["name"])))


def iterate(namespace, request):
    """JSON: the items of an object that crossed (a handle's), as a list."""
    request = json.loads(request)
    return _answer(lambda: list(objects.get(request["target"])))


def _answer(compute):
    try:
        return json.dumps({"out": wire.dumps(compute(), objects=objects)})
    except Exception as error:
        return json.dumps({"error": wire.dump_error(error)})


def _is_data(value):
    """Values that are callable but are answers, not functions (a sympy symbol, a model)."""
    sympy, torch = sys.modules.get("sympy"), sys.modules.get("torch")
    return (sympy is not None and isinstance(value, sympy.Basic)) or \
        (torch is not None and isinstance(value, torch.nn.Module))


def lookup(namespace, name):
    """JSON: what ``name`` is in the notebook's namespace."""
    if name not in namespace:
        return json.dumps({"kind": "missing"})
    value = namespace[name]
    if isinstance(value, types.ModuleType):
        return json.dumps({"kind": "module", "module": value.__name__})
    where = {"module": str(getattr(value, "__module__", "")), "qualname": str(getattr(value, "__qualname__", ""))}
    if isinstance(value, type):
        return json.dumps({"kind": "class", **where})
    if callable(value) and not _is_data(value):
        return json.dumps({"kind": "function", **where})
    return json.dumps({"kind": "value", "data": wire.dumps(value, objects=objects)})


def kinds(namespace, request):
    """{name: "function" or "class"} of those of the request's names that are the notebook's
    functions or classes."""
    names = json.loads(request).get("names", [])
    return {name: "class" if isinstance(namespace[name], type) else "function"
            for name in names if type(name) is str and name in namespace
            and callable(namespace[name]) and not _is_data(namespace[name])
            and not isinstance(namespace[name], types.ModuleType)}


def _called_back(number):
    """A stand-in for the test's function ``number``: each call asks the tester."""
    def stand_in(*args, **kwargs):
        question = json.dumps({"callback": number, "args": wire.dumps([list(args), kwargs], objects=objects)})
        answer = json.loads(builtins.input(question))
        if "error" in answer:
            raise wire.load_error(answer["error"])
        return wire.loads(answer["out"], callback=_called_back, objects=objects)
    stand_in.__name__ = f"test_function_{number}"
    return stand_in


@contextlib.contextmanager
def _as_the_test_calls(context):
    torch = sys.modules.get("torch")
    if "random" in context:
        set_random_state(wire.loads(context["random"]))
    with np.errstate(**context.get("errstate", {})), contextlib.ExitStack() as stack:
        if torch is not None and "grad" in context:
            stack.enter_context(torch.set_grad_enabled(bool(context["grad"])))
        if context.get("rules"):
            from dlcourse.rules import rule

            for name in context["rules"]:
                stack.enter_context(rule(name))
        yield


@contextlib.contextmanager
def _standing_in(namespace, shadow):
    """The test's references in place of the student's functions it replaced, for one call (a
    class of the test that it put in place of the student's: the kernel's own of that class)."""
    saved = {name: namespace[name] for name in shadow if name in namespace}
    namespace.update({name: objects.classes[number["class"]] if type(number) is dict else _called_back(number)
                      for name, number in shadow.items()})
    try:
        yield
    finally:
        for name in shadow:
            namespace.pop(name, None)
        namespace.update(saved)


def call(namespace, request):
    """JSON: the result of one call of the student's function (or the exception it raised), its
    warnings, and its arguments as the call left them."""
    request = json.loads(request)
    remotes = {int(n): name for n, name in request.get("remotes", {}).items()}
    made = lambda n: namespace[remotes[n]] if n in remotes else _called_back(n)  # noqa: E731
    function = namespace[request["name"]] if request.get("target") is None else objects.get(request["target"])
    args, kwargs = wire.loads(request["args"], callback=made, objects=objects)
    reply = {}
    with _standing_in(namespace, request.get("shadow", {})), _as_the_test_calls(request.get("context", {})):
        drawn = random_fingerprint()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                reply["out"] = wire.dumps(function(*args, **kwargs), objects=objects)
            except Exception as error:  # the student's function raised: the test decides
                reply["error"] = wire.dump_error(error)
        if random_fingerprint() != drawn:  # the student's code drew: the test's generators go on from here
            reply["random"] = wire.dumps(random_state())
    reply["warnings"] = wire.dump_warnings(caught)
    reply["args"] = wire.dumps([args, kwargs], objects=objects)
    return json.dumps(reply)
