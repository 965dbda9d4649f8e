"""Call a graded function on a few probe inputs and describe what it did, as plain JSON.

Used on both sides of the mistake catalogue (diagnosis.py): by the suite, to record what the
reference and every known mistake (the mutation lists) do on the visible tests' inputs, and in
the student's sandboxed kernel after grading, to record what the student's function does on the
same inputs. Only plain data crosses: numbers, strings, arrays (as lists with shape and dtype),
tensors (as arrays), and lists, tuples and dicts of these. The comparison happens outside the
kernel (diagnosis.py); what the kernel sends back can only change the sentence shown to its
own student, never a grade.
"""

import copy
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
    if torch is not None and isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray) and value.ndim == 0 or isinstance(value, np.generic):
        value = value.item()  # a 0-d array or numpy scalar is a number, as tests treat it
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
    return {"type": type(value).__name__}


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
    if callable(value) and not isinstance(value, type):
        return getattr(value, "__source__", None) is not None
    if value is None or type(value) in (bool, str, int, float) or isinstance(value, (np.integer, np.floating)):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "biuf" and value.size <= MAX_ITEMS
    if torch is not None and isinstance(value, torch.Tensor):
        return value.numel() <= MAX_ITEMS and not value.requires_grad
    if type(value) in (list, tuple):
        return all(plain(v, depth + 1) for v in value)
    return False


def encode_argument(value):
    """Like encode, but exact and reversible (see decode); tensors keep their type; a function
    travels as its source (``__source__``, set by the suite for functions a visible test defines)."""
    if callable(value) and getattr(value, "__source__", None) is not None:
        return {"function": value.__source__, "name": value.__name__}
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return {"tensor": encode_argument(value.detach().cpu().numpy())}
    if isinstance(value, np.ndarray):
        return {"ndarray": [float(x) if value.dtype.kind == "f" else int(x) for x in value.ravel()],
                "shape": list(value.shape), "dtype": value.dtype.str}
    if isinstance(value, np.generic):
        return {"scalar": value.item(), "dtype": value.dtype.str}
    if type(value) is float and not math.isfinite(value):
        return {"nonfinite": repr(value)}
    if type(value) in (list, tuple):
        return {type(value).__name__: [encode_argument(v) for v in value]}
    return value


def decode(data):
    """The value encode_argument described."""
    if isinstance(data, dict):
        if "tensor" in data:
            import torch

            return torch.from_numpy(decode(data["tensor"]))
        if "ndarray" in data:
            return np.array(data["ndarray"], dtype=np.dtype(data["dtype"])).reshape(data["shape"])
        if "scalar" in data:
            return np.dtype(data["dtype"]).type(data["scalar"])
        if "function" in data:  # a visible test's own helper, e.g. the gradient of a bowl
            scope = {"np": np, "math": math}
            exec(data["function"], scope)
            return scope[data["name"]]
        if "nonfinite" in data:
            return float(data["nonfinite"])
        if "list" in data:
            return [decode(v) for v in data["list"]]
        if "tuple" in data:
            return tuple(decode(v) for v in data["tuple"])
    return data


def behaviour(function, args, kwargs):
    """What one call did: its result, the exception it raised, whether it changed an argument,
    which warnings it gave (all plain data)."""
    before = copy.deepcopy((args, kwargs))
    record = {"out": None, "raised": None, "changed": False, "warned": []}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            record["out"] = encode(function(*args, **kwargs))
        except Exception as error:  # the mistake may be that it raises
            record["raised"] = type(error).__name__
    record["changed"] = encode((args, kwargs)) != encode(before)
    # numpy's floating-point warnings (overflow, invalid value) come with every call; libraries'
    # other warnings often come once per process, so whether they show depends on what ran before
    record["warned"] = sorted({w.category.__name__ for w in caught if issubclass(w.category, RuntimeWarning)})
    return record


def _seed():
    """The same random state for every run of the probes (a function that draws random numbers
    would otherwise depend on everything that ran before it)."""
    import random

    random.seed(0)
    np.random.seed(0)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(0)


def run(namespace, name, probes):
    """JSON text: the behaviour of namespace[name] on each probe ([args, kwargs], encoded), and
    on the first probe once more at the end (state kept from call to call shows there)."""
    function = namespace.get(name)
    if not callable(function):
        return json.dumps(None)
    probes = json.loads(probes)
    _seed()
    calls = [([decode(a) for a in args], {k: decode(v) for k, v in kwargs.items()}) for args, kwargs in probes + probes[:1]]
    records = [behaviour(function, args, kwargs) for args, kwargs in calls]
    if records:
        records[-1]["repeats_first"] = records[-1] == records[0]  # the first probe asked again
    return json.dumps(records)
