"""Call a graded function on a few probe inputs and describe what it did, as plain JSON.

Used on both sides of the mistake catalogue (diagnosis.py): by the suite, to record what the
reference and every known mistake (the mutation lists) do on the visible tests' inputs, and in
the student's sandboxed kernel after grading, to record what the student's function does on the
same inputs. Only plain data crosses: numbers, strings, arrays (as lists with shape and dtype),
tensors (as arrays), and lists, tuples and dicts of these. The comparison happens outside the
kernel (diagnosis.py); what the kernel sends back can only change the sentence shown to its
own student, never a grade.
"""

import contextlib
import fractions
import json
import math
import sys
import warnings

import numpy as np

MAX_ITEMS = 4096  # the largest array a probe passes
SHOWN_ITEMS = 64  # a larger result is described by its shape, dtype, first entries and statistics


def encode(value, depth=0):
    """Plain JSON data describing value (arrays and tensors as numbers with shape and dtype)."""
    if depth > 6:
        return {"type": type(value).__name__}
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):  # a tensor where a number is asked for is a mistake
        return {"tensor": encode(value.detach().cpu().numpy(), depth)}
    if isinstance(value, fractions.Fraction):
        return {"fraction": encode(float(value))}
    if isinstance(value, np.ndarray) and value.ndim == 0 or isinstance(value, np.generic):
        return _numpy_number(value)
    if value is None or type(value) in (bool, str):
        return value
    if type(value) is int:
        return {"int": value}
    if type(value) is float:
        return {"float": _number(value)}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        flat = value.astype(float).ravel()
        whole = flat.size <= SHOWN_ITEMS
        numbers = flat if whole else [*flat[:16], flat.min(), flat.max(), flat.mean(), np.abs(flat).mean(), flat.std()]
        return {"array": [_number(float(x)) for x in numbers], "shape": list(value.shape),
                "dtype": value.dtype.str, "whole": whole}
    if type(value) in (list, tuple):
        return {type(value).__name__: [encode(v, depth + 1) for v in value]}
    if type(value) is dict:
        return {"dict": {str(k): encode(v, depth + 1) for k, v in value.items()}}
    figure = sys.modules.get("matplotlib.figure")
    if figure is not None and isinstance(value, figure.Figure):
        return {"figure": [_axes(ax) for ax in value.axes], "texts": [t.get_text() for t in value.texts]}
    if torch is not None and isinstance(value, torch.nn.Module):
        return {"module": type(value).__name__, "training": value.training,
                "parameters": {name: encode(p) for name, p in value.named_parameters(recurse=False)},
                "children": [[name, encode(child, depth + 1)] for name, child in value.named_children()]}
    if torch is not None and isinstance(value, torch.optim.Optimizer):
        return {"optimizer": type(value).__name__,
                "groups": [{k: encode(v, depth + 1) if k != "params" else len(v) for k, v in group.items()}
                           for group in value.param_groups]}
    if _sympy(value):
        return {"sympy": _sympy_values(value)}
    return {"type": type(value).__name__}


def _numpy_number(value):
    """A 0-d array or numpy scalar as the number it holds, as tests treat it, marked where a test's
    isinstance tells it from a Python number (np.float64 is a float, a numpy integer is no int)."""
    number = value.item()
    encoded = encode(number)
    if isinstance(value, type(number)):
        return encoded
    marked = encoded if isinstance(encoded, dict) else {type(number).__name__: encoded}
    return {**marked, "numpy": "array" if isinstance(value, np.ndarray) else "scalar"}


def _sympy(value):
    sympy = sys.modules.get("sympy")
    return sympy is not None and isinstance(value, sympy.Basic)


SYMPY_POINTS = (-1.5, -0.5, 0.0, 0.5, 2.0)  # where a sympy answer is evaluated (its kinks sit at 0)


def _sympy_values(expression):
    """A sympy expression as its values: every free symbol at each of SYMPY_POINTS, the symbols
    shifted against each other (equal expressions written differently give the same numbers)."""
    symbols = sorted(expression.free_symbols, key=str)
    values = []
    for k in range(len(SYMPY_POINTS)):
        point = {s: SYMPY_POINTS[(k + j) % len(SYMPY_POINTS)] + j for j, s in enumerate(symbols)}
        try:
            number = complex(expression.subs(point).evalf())
            values.append(_number(number.real) if number.imag == 0 else "complex")
        except (TypeError, ValueError, AttributeError):
            values.append("not a number")
    return values


def _axes(ax):
    """A plain description of what an Axes shows: lines, labels, limits, legend."""
    legend = ax.get_legend()
    return {"title": ax.get_title(), "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
            "xlim": encode(list(ax.get_xlim())), "ylim": encode(list(ax.get_ylim())),
            "xscale": ax.get_xscale(), "yscale": ax.get_yscale(),
            "legend": [t.get_text() for t in legend.get_texts()] if legend else None,
            "lines": [{"label": line.get_label(), "x": encode(np.asarray(line.get_xdata(), dtype=float)),
                       "y": encode(np.asarray(line.get_ydata(), dtype=float))} for line in ax.get_lines()]}


def _number(x):
    return x if math.isfinite(x) else repr(x)  # JSON has no nan or inf


def plain(value, depth=0):
    """True if decode(encode_argument(value)) gives value back (a probe argument must be plain)."""
    torch = sys.modules.get("torch")
    if depth > 4:
        return False
    if value is None or type(value) in (bool, str, int, float) or isinstance(value, (np.integer, np.floating)):
        return True
    if torch is not None and isinstance(value, torch.nn.Module):
        return type(value) is getattr(torch.nn, type(value).__name__, None) and type(value).__name__ in LAYERS \
            and all(plain(child, depth + 1) for child in value.children()) \
            and sum(p.numel() for p in value.parameters()) <= MAX_ITEMS
    if _sympy(value):  # before callable: a sympy symbol can be called
        return True
    if callable(value) and not isinstance(value, type):
        return getattr(value, "__source__", None) is not None
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "biuf" and value.size <= MAX_ITEMS
    if torch is not None and isinstance(value, torch.Tensor):
        return value.numel() <= MAX_ITEMS and value.grad_fn is None
    if type(value) in (list, tuple):
        return all(plain(v, depth + 1) for v in value)
    if type(value) is dict:
        return all(type(k) is str and plain(v, depth + 1) for k, v in value.items())
    if torch is not None and isinstance(value, torch.optim.Optimizer):
        return type(value) is getattr(torch.optim, type(value).__name__, None)
    return False


# the torch.nn layers a probe argument may hold: their constructor's arguments, as attributes
LAYERS = {"Sequential": (), "Linear": ("in_features", "out_features", "bias"), "Flatten": ("start_dim", "end_dim"),
          "Conv2d": ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias"),
          "ReLU": (), "Sigmoid": (), "Tanh": (), "Identity": (), "Softplus": ("beta", "threshold"), "ELU": ("alpha",),
          "LeakyReLU": ("negative_slope",), "GELU": ("approximate",), "Dropout": ("p",)}


def encode_call(args, kwargs):
    """[args, kwargs] of a call, encoded (encode_argument); an optimizer's parameters are named
    by their place among the parameters of the call's models."""
    torch = sys.modules.get("torch")
    models = [v for v in (*args, *kwargs.values()) if torch is not None and isinstance(v, torch.nn.Module)]
    places = {id(p): k for k, p in enumerate(p for model in models for p in model.parameters())}
    optimizers = [v for v in (*args, *kwargs.values()) if torch is not None and isinstance(v, torch.optim.Optimizer)]
    if any(id(p) not in places for o in optimizers for group in o.param_groups for p in group["params"]):
        raise ValueError("an optimizer of parameters that no model of the call holds")
    return [[encode_argument(a, places) for a in args], {k: encode_argument(v, places) for k, v in kwargs.items()}]


def encode_argument(value, places=None):
    """Like encode, but exact and reversible (see decode); tensors keep their type; a function
    travels as its source (``__source__``, set by the suite for functions a visible test defines
    or the sheet gives), with the plain global values it reads (``__values__``)."""
    if callable(value) and getattr(value, "__source__", None) is not None:
        return {"function": value.__source__, "name": getattr(value, "__probe_name__", value.__name__),
                "values": getattr(value, "__values__", {})}
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return _encode_tensor(value)
    if torch is not None and isinstance(value, torch.nn.Module):
        return _encode_module(value)
    if torch is not None and isinstance(value, torch.optim.Optimizer):
        return {"optimizer": type(value).__name__, "groups": [
            {k: [places[id(p)] for p in v] if k == "params" else encode_argument(v) for k, v in group.items()}
            for group in value.param_groups]}
    if _sympy(value):
        return {"srepr": sys.modules["sympy"].srepr(value)}
    if type(value) is dict:  # as pairs: the catalogue's JSON sorts a dict's keys, the order can matter
        return {"dict": [[k, encode_argument(v, places)] for k, v in value.items()]}
    if isinstance(value, np.ndarray):
        return {"ndarray": [float(x) if value.dtype.kind == "f" else int(x) for x in value.ravel()],
                "shape": list(value.shape), "dtype": value.dtype.str}
    if isinstance(value, np.generic):
        return {"scalar": value.item(), "dtype": value.dtype.str}
    if type(value) is float and not math.isfinite(value):
        return {"nonfinite": repr(value)}
    if type(value) in (list, tuple):
        return {type(value).__name__: [encode_argument(v, places) for v in value]}
    return value


def _encode_tensor(value):
    torch = sys.modules["torch"]
    grad = None if value.grad is None else encode_argument(value.grad.detach().cpu().numpy())
    return {"tensor": encode_argument(value.detach().cpu().numpy()), "requires_grad": value.requires_grad,
            "parameter": isinstance(value, torch.nn.Parameter), "grad": grad}


def _encode_module(module):
    """A torch.nn layer (LAYERS) as its type, constructor arguments, parameters (with their
    gradients) and children: decode builds the same module again."""
    init = {k: (getattr(module, k) is not None) if k == "bias" else encode_argument(getattr(module, k))
            for k in LAYERS[type(module).__name__]}
    return {"module": type(module).__name__, "init": init, "training": module.training,
            "parameters": {name: _encode_tensor(p) for name, p in module.named_parameters(recurse=False)},
            "children": [[name, _encode_module(child)] for name, child in module.named_children()]}


def decode_call(args, kwargs):
    """(args, kwargs) of an encoded call (encode_call): models first, then the optimizers
    built around their parameters."""
    parameters = []
    first = [None if _is_optimizer(a) else decode(a, parameters) for a in args]
    named = {k: None if _is_optimizer(v) else decode(v, parameters) for k, v in kwargs.items()}
    first = [decode(a, parameters) if _is_optimizer(a) else d for a, d in zip(args, first)]
    named = {k: decode(v, parameters) if _is_optimizer(v) else named[k] for k, v in kwargs.items()}
    return first, named


def _is_optimizer(data):
    return isinstance(data, dict) and "optimizer" in data


def _decode_tensor(data):
    import torch

    tensor = torch.from_numpy(decode(data["tensor"]))
    if data.get("parameter"):
        tensor = torch.nn.Parameter(tensor, requires_grad=data["requires_grad"])
    elif data.get("requires_grad"):
        tensor.requires_grad_()
    if data.get("grad") is not None:
        tensor.grad = torch.from_numpy(decode(data["grad"]))
    return tensor


def _decode_module(data, parameters):
    import collections

    import torch

    kind = getattr(torch.nn, data["module"])
    if kind is torch.nn.Sequential:
        module = kind(collections.OrderedDict((name, _decode_module(child, parameters)) for name, child in data["children"]))
    else:
        module = kind(**{k: decode(v) for k, v in data["init"].items()})
    for name, encoded in data["parameters"].items():
        setattr(module, name, _decode_tensor(encoded))
    module.train(data["training"])
    parameters.extend(module.parameters(recurse=False))
    return module


def _decode_optimizer(data, parameters):
    import torch

    groups = [{k: [parameters[i] for i in v] if k == "params" else decode(v) for k, v in group.items()}
              for group in data["groups"]]
    return getattr(torch.optim, data["optimizer"])(groups)


def _decode_function(data):
    scope = {"np": np, "math": math, **{name: sys.modules[module] for name, module in
                                        (("torch", "torch"), ("sp", "sympy")) if module in sys.modules}}
    if "torch" in sys.modules:
        scope["nn"] = sys.modules["torch"].nn
    scope.update({k: decode(v) for k, v in data.get("values", {}).items()})
    exec(data["function"], scope)
    return scope[data["name"]]


def decode(data, parameters=None):
    """The value encode_argument described (parameters: those of the models decoded so far)."""
    parameters = [] if parameters is None else parameters
    if isinstance(data, dict):
        if "tensor" in data:
            return _decode_tensor(data)
        if "module" in data:
            return _decode_module(data, parameters)
        if "optimizer" in data:
            return _decode_optimizer(data, parameters)
        if "srepr" in data:
            import sympy

            return sympy.sympify(data["srepr"])
        if "dict" in data:
            return {k: decode(v, parameters) for k, v in data["dict"]}
        if "ndarray" in data:
            return np.array(data["ndarray"], dtype=np.dtype(data["dtype"])).reshape(data["shape"])
        if "scalar" in data:
            return np.dtype(data["dtype"]).type(data["scalar"])
        if "function" in data:  # a visible test's own helper, e.g. the gradient of a bowl
            return _decode_function(data)
        if "nonfinite" in data:
            return float(data["nonfinite"])
        if "list" in data:
            return [decode(v, parameters) for v in data["list"]]
        if "tuple" in data:
            return tuple(decode(v, parameters) for v in data["tuple"])
    return data


def behaviour(function, args, kwargs):
    """What one call did: its result, the exception it raised, whether it changed an argument,
    which warnings it gave (all plain data)."""
    before = encode((args, kwargs))  # a description, not a copy: an autograd graph cannot be copied
    record = {"out": None, "raised": None, "changed": False, "warned": []}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            record["out"] = encode(function(*args, **kwargs))
        except Exception as error:  # the mistake may be that it raises
            record["raised"] = type(error).__name__
    after = encode((args, kwargs))
    record["changed"] = after != before
    if record["changed"] and _holds_model(args):
        record["after"] = after  # what init_weights or a training loop did to a model is its result
    # numpy's floating-point warnings (overflow, invalid value) come with every call; libraries'
    # other warnings often come once per process, so whether they show depends on what ran before
    record["warned"] = sorted({w.category.__name__ for w in caught if issubclass(w.category, RuntimeWarning)})
    return record


def _holds_model(args):
    torch = sys.modules.get("torch")
    return torch is not None and any(isinstance(a, torch.nn.Module) for a in args)


def _seed():
    """The same random state for every call of the probes (a function that draws random numbers
    would otherwise depend on everything that ran before it, a seeded model on the calls before)."""
    import random

    random.seed(0)
    np.random.seed(0)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(0)


def _seeded(function, args, kwargs, options):
    """One probe call, from the probes' random state, as its options say: with autograd off; with
    the arguments a recipe builds first (an autograd graph cannot travel as data); for a graded
    class, an instance made from the arguments and called as the test called it; compared by
    relative error only (a result that is a tiny number: an absolute tolerance would hide it)."""
    _seed()
    if "recipe" in options:
        args = [*decode(options["recipe"])(), *args]
    if "call" in options:
        function = _made_and_called(function, *decode_call(*options["call"]))
    with _autograd_off() if options.get("autograd") == "off" else contextlib.nullcontext():
        record = behaviour(function, args, kwargs)
    if "tolerance" in options:
        record["tolerance"] = options["tolerance"]
    return record


def _made_and_called(kind, args, kwargs):
    """A graded class (an nn.Module) as a function of its constructor's arguments: the instance
    made and what calling it with args, kwargs gives."""
    def made_and_called(*made_with, **named):
        instance = kind(*made_with, **named)
        return instance, instance(*args, **kwargs)

    return made_and_called


def autograd_is_off():
    """Whether this call happens with autograd switched off (a test of a task that asks for
    gradients by hand calls the function so): its probe then runs the same way."""
    torch = sys.modules.get("torch")
    return torch is not None and not torch.is_grad_enabled()


def _refuse(*args, **kwargs):
    raise RuntimeError("autograd is switched off for this call")


@contextlib.contextmanager
def _autograd_off():
    """No gradients and every way into autograd refused (backward passes, torch.autograd.grad and
    what is built on it, forward mode, tensors that require gradients), as the tests do."""
    import torch
    import torch._dynamo  # noqa: F401 (torch.func imports it on first use: now, not under the stand-ins)
    from torch.overrides import TorchFunctionMode

    class Refusing(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            if getattr(func, "__name__", "") in ("backward", "grad", "requires_grad_", "_make_dual") or kwargs.get("requires_grad"):
                _refuse()
            return func(*args, **kwargs)

    patched = [(torch.Tensor, "backward"), (torch.autograd, "backward"), (torch.autograd, "grad"),
               (torch.autograd.forward_ad, "make_dual")]
    saved = [getattr(owner, name) for owner, name in patched]
    try:
        for owner, name in patched:
            setattr(owner, name, _refuse)
        with torch.no_grad(), Refusing():
            yield
    finally:
        for (owner, name), value in zip(patched, saved):
            setattr(owner, name, value)


def run(namespace, name, probes):
    """JSON text: the behaviour of namespace[name] on each probe ([args, kwargs], encoded, and
    its options if it has any: _seeded), and on the first probe once more at the end (state kept
    from call to call, or unseeded random numbers, show there)."""
    function = namespace.get(name)
    if not callable(function):
        return json.dumps(None)
    probes = json.loads(probes)
    _seed()
    calls = [(*decode_call(*call[:2]), call[2] if len(call) > 2 else {}) for call in probes + probes[:1]]
    records = [_seeded(function, args, kwargs, options) for args, kwargs, options in calls]
    if records:
        records[-1]["repeats_first"] = records[-1] == records[0]  # the first probe asked again
    return json.dumps(records)
