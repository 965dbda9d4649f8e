"""Values across the boundary between the trusted tester and the student's kernel, as JSON text.

The grading tests run in a trusted process (the tester) and call the student's functions in the
student's sandboxed kernel: the arguments travel to the kernel, the results (and what was raised
or warned) travel back. This module is the encoding on both sides. The tester imports it; the
kernel receives its source text and runs it, so at the top it imports only the standard library
and numpy (torch, sympy and matplotlib are looked up in sys.modules, or imported inside the
function that builds one of their objects).

dumps describes a value exactly: arrays and tensors as numpy's own .npy bytes (base64), sympy
expressions as srepr text, a figure as what its axes show, a standard torch.nn layer as its
constructor's arguments and its tensors. Whatever it cannot describe travels as the name of its
type and comes back as an Opaque. loads builds the value again, and is written for hostile text
(everything the kernel sends): it runs nothing the data names (no pickle, eval, exec or sympify),
builds only exact built-in, numpy, torch, sympy and matplotlib types from fixed lists, refuses
text beyond its Limits and raises WireError for anything malformed.
"""

import ast
import base64
import binascii
import fractions
import functools
import io
import json
import math
import re
import struct
import sys
import traceback
import types
import warnings
from typing import NamedTuple

import numpy as np


class WireError(ValueError):
    """Text that describes no value, or one beyond the limits (or a value dumps cannot send)."""


class Limits(NamedTuple):
    """The most that loads accepts from one text."""

    chars: int = 2**27  # length of the text (an array takes 4/3 of its bytes, in base64)
    depth: int = 64  # nesting of containers and of the terms of a sympy expression
    items: int = 2**20  # values in all: list and dict entries, sympy terms, figure lines
    elements: int = 2**25  # array and tensor elements in all
    digits: int = 4300  # decimal digits of an integer (Python's own limit for int(text))


LIMITS = Limits()
MESSAGE_CHARS = 20_000  # a figure's texts; an exception's message, a warning's, a traceback
# (dump_error and dump_warnings cut longer ones)
NAME_CHARS = 300  # a type's name, a symbol's, a child module's


class Opaque:
    """Something dumps does not describe: only the name of its type travels."""

    def __init__(self, type_name):
        self.type_name = type_name

    def __repr__(self):
        return f"<{self.type_name} object (not sent)>"


class Objects:
    """The tensors, layers and optimizers that have crossed the boundary during one test cell,
    under keys both sides share (the tester numbers what it sends 0, 2, 4, ..., the kernel 1, 3,
    5, ...). An object that crosses again travels as a reference to the other side's copy with
    its current value, and that copy is brought up to date in place: a model the test hands to
    the student's init_weights is changed in the tester too, an optimizer's parameters are its
    model's, and a model that comes back is the test's own object."""

    def __init__(self, first, handle=None):
        self.next, self.by_key, self.keys = first, {}, {}
        self.tester = first == 0  # the tester's side (the kernel's numbers are odd)
        self.bare = {}  # id -> key of what travels as a reference alone (handles, sent instances)
        self.handle = handle  # the tester's: handle(key, type name, class) for an object left in the kernel
        self.classes = {}  # name -> a class of the test defined on both sides (tester.py's _sent)

    def add(self, value, bare=False):
        key, self.next = self.next, self.next + 2
        self.by_key[key], self.keys[id(value)] = value, key
        if bare:
            self.bare[id(value)] = key
        return key

    def put(self, key, value, bare=False):
        if type(key) is not int or key < 0 or key % 2 == self.next % 2 or key in self.by_key:
            raise WireError("an object's key is not a new key of the other side")
        self.by_key[key], self.keys[id(value)] = value, key
        if bare:
            self.bare[id(value)] = key

    def class_name(self, kind):
        """The name under which a class of the test is defined on both sides, or None."""
        name = getattr(kind, "__wire_class__", None)
        return name if type(name) is str and self.classes.get(name) is kind else None

    def get(self, key):
        if type(key) is not int or key not in self.by_key:
            raise WireError("a reference to no object that crossed")
        return self.by_key[key]


class StudentError(Exception):
    """An exception of a type that load_error does not rebuild; its message names the type."""


# ---------------------------------------------------------------------------------------------
# The fixed lists: everything loads may build.

SCALAR_CHARS = "?bBhHiIlLqQefdgFDG"  # numpy scalar types (bool, integers, floats, complex)
ARRAY_DTYPE = re.compile(r"[|<>=][biufc](1|2|4|8|16|32)")  # dtype.str of an array that travels
TYPES = {kind.__name__: kind
         for kind in (bool, int, float, complex, str, bytes, list, tuple, dict, set, frozenset)}
TYPES.update({f"numpy.{np.dtype(c).type.__name__}": np.dtype(c).type for c in SCALAR_CHARS})
TYPE_NAMES = {kind: name for name, kind in TYPES.items()}

# torch dtypes, and the numpy dtype their .npy payload has (bfloat16 travels as its bits)
TORCH_DTYPES = {"bool": "|b1", "uint8": "|u1", "int8": "|i1", "int16": "<i2", "int32": "<i4",
                "int64": "<i8", "uint16": "<u2", "uint32": "<u4", "uint64": "<u8", "float16": "<f2",
                "float32": "<f4", "float64": "<f8", "complex64": "<c8", "complex128": "<c16",
                "bfloat16": "<i2"}

# the torch.nn layers that travel: their constructor's arguments, which they keep as attributes
LAYERS = {"Sequential": (), "ModuleList": (), "Identity": (), "Flatten": ("start_dim", "end_dim"),
          "Linear": ("in_features", "out_features", "bias"),
          "Conv2d": ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation",
                     "groups", "bias", "padding_mode"),
          "BatchNorm1d": ("num_features", "eps", "momentum", "affine", "track_running_stats"),
          "BatchNorm2d": ("num_features", "eps", "momentum", "affine", "track_running_stats"),
          "MaxPool2d": ("kernel_size", "stride", "padding", "dilation", "ceil_mode"),
          "AvgPool2d": ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad"),
          "ReLU": ("inplace",), "Sigmoid": (), "Tanh": (), "Softplus": ("beta", "threshold"),
          "ELU": ("alpha", "inplace"), "LeakyReLU": ("negative_slope", "inplace"),
          "GELU": ("approximate",), "Dropout": ("p", "inplace"), "Softmax": ("dim",),
          "LogSoftmax": ("dim",)}
OPTIMIZERS = ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad")  # torch.optim's, with their state

# sympy: the names a text may call, and where in sympy each one is
SYMPY_CALLS = {name: name for name in (
    "Add", "Mul", "Pow", "exp", "log", "sqrt", "sin", "cos", "tan", "cot", "asin", "acos", "atan",
    "atan2", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "Abs", "sign", "Heaviside",
    "DiracDelta", "Piecewise", "ExprCondPair", "Max", "Min", "floor", "ceiling", "erf", "erfc",
    "re", "im", "StrictGreaterThan", "GreaterThan", "LessThan", "StrictLessThan", "Equality",
    "Unequality", "And", "Or", "Not", "Tuple", "Interval", "Limit", "Derivative", "Subs",
    "Eq", "Ne", "Lt", "Le", "Gt", "Ge")}
SYMPY_CALLS["ExprCondPair"] = "functions.elementary.piecewise.ExprCondPair"
SYMPY_UNEVALUATED = ("ExprCondPair", "Tuple", "Interval", "Limit")  # take no evaluate=False
SYMPY_NAMES = ("pi", "E", "I", "oo", "zoo", "nan", "true", "false")  # sympy's constants
SYMPY_SINGLETONS = {"Zero": "Zero", "One": "One", "NegativeOne": "NegativeOne", "Half": "Half",
                    "Infinity": "Infinity", "NegativeInfinity": "NegativeInfinity",
                    "BooleanTrue": "true", "BooleanFalse": "false"}  # calls without arguments
SYMPY_ATOMS = ("Symbol", "Dummy", "Integer", "Rational", "Float")  # calls of constants
ASSUMPTIONS = ("commutative", "real", "positive", "negative", "nonnegative", "nonpositive",
               "nonzero", "zero", "integer", "noninteger", "rational", "irrational", "finite",
               "infinite", "complex", "imaginary", "extended_real", "extended_positive",
               "extended_negative", "extended_nonnegative", "extended_nonpositive",
               "extended_nonzero", "even", "odd", "prime", "composite", "algebraic",
               "transcendental", "hermitian", "antihermitian", "polar")
FLOAT_TEXT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d{1,6})?")
MAX_PRECISION = 2**14  # bits of a sympy Float
CONSTANTS = {int: "an integer", str: "a text", bool: "True or False"}  # in a sympy text

EXCEPTIONS = {kind.__name__: kind for kind in (
    Exception, ArithmeticError, FloatingPointError, OverflowError, ZeroDivisionError, ValueError,
    TypeError, IndexError, KeyError, LookupError, AttributeError, NameError, UnboundLocalError,
    NotImplementedError, RuntimeError, RecursionError, AssertionError, MemoryError, ImportError,
    ModuleNotFoundError, OSError, FileNotFoundError, TimeoutError, EOFError, UnicodeError,
    BufferError)}
WARNINGS = {kind.__name__: kind for kind in (
    Warning, UserWarning, DeprecationWarning, PendingDeprecationWarning, SyntaxWarning,
    RuntimeWarning, FutureWarning, ImportWarning, UnicodeWarning, BytesWarning, ResourceWarning,
    EncodingWarning)}

SCALES = ("linear", "log", "symlog", "logit", "asinh")
TITLE_PLACES = ("left", "center", "right")
FIGURE_ROLES = ("suptitle", "supxlabel", "supylabel")  # fig.texts made by fig.suptitle and co
COLOR = re.compile(r"#[0-9a-f]{8}")
MAX_INCHES = 50  # a figure's width and height (drawn at 100 dpi: 5000 pixels)

CALLABLE_TYPES = (types.FunctionType, types.MethodType, types.BuiltinFunctionType,
                  functools.partial, np.ufunc)  # sent as callbacks

_SKIP = object()  # an encoder's answer for a value that is not its kind


# ---------------------------------------------------------------------------------------------
# dumps


def dumps(value, callables=None, objects=None):
    """JSON text that describes value exactly (loads builds it again). callables: a dict that
    gets {number: function} for every plain function or method met, sent as {"callback": number}
    (without it, a function travels as an Opaque). objects: the test cell's Objects (tensors,
    layers and optimizers then travel with keys, and optimizers travel at all)."""
    writer = _Writer(callables, objects)
    return json.dumps(writer.value(value, 0), allow_nan=False, separators=(",", ":"))


class _Writer:
    """The encoders, tried in turn: numpy, the libraries, built-in types, callables, types."""

    def __init__(self, callables, objects=None):
        self.callables, self.objects = callables, objects

    def value(self, value, depth):
        if depth > LIMITS.depth:
            raise WireError(f"a value nested deeper than {LIMITS.depth} levels cannot be sent")
        if self.objects is not None:
            encoded = self._crossed(value, depth)
            if encoded is not _SKIP:
                return encoded
        for encode in (self._numpy, self._library, self._builtin, self._callable, self._type):
            encoded = encode(value, depth)
            if encoded is not _SKIP:
                return encoded
        return self._unknown(value)

    def _crossed(self, value, depth):
        """With Objects: what travels as a reference alone, an instance of a class of the test, a
        node of a traced function."""
        objects = self.objects
        if id(value) in objects.bare:
            return {"ref": objects.bare[id(value)]}
        if type(value) is _Node:
            return {"node": value.name}
        name = objects.class_name(type(value)) if objects.tester else None
        if name is None:
            return _SKIP
        args, kwargs = getattr(value, "__wire_args__", ((), {}))
        state = value.state_dict() if hasattr(value, "state_dict") else {}
        encoded = {"instance": name, "args": self.value([list(args), kwargs], depth + 1),
                   "state": self.value(dict(state), depth + 1)}
        return {"key": objects.add(value, bare=True), "value": encoded}

    def _unknown(self, value):
        """What dumps does not describe: on the kernel's side (with Objects) a handle the tester
        can ask about; else only its type's name."""
        objects = self.objects
        if objects is None or objects.tester:
            return _opaque(value)
        name = objects.class_name(type(value))
        return {"key": objects.add(value, bare=True), "value": {"handle": _type_name(type(value)), "class": name}}

    def _numpy(self, value, depth):
        if isinstance(value, np.ndarray):
            return {"ndarray": _npy(value)} if _travels(value.dtype) else self._unknown(value)
        if isinstance(value, np.generic) and value.dtype.char in SCALAR_CHARS:
            return {"numpy": value.dtype.char, "bits": value.tobytes().hex()}
        return _SKIP  # other numpy scalars: np.str_ is a str, np.bytes_ bytes

    def _library(self, value, depth):
        torch = sys.modules.get("torch")
        encoded = _SKIP if torch is None else self._torch(torch, value, depth)
        if encoded is not _SKIP:
            return encoded
        sympy = sys.modules.get("sympy")
        if sympy is not None and isinstance(value, sympy.Basic):
            return _sympy_encoded(sympy, value)
        figure = sys.modules.get("matplotlib.figure")
        if figure is not None and isinstance(value, figure.Figure):
            return {"figure": self.value(_describe_figure(value), depth + 1)}
        return _SKIP

    def _torch(self, torch, value, depth):
        if isinstance(value, torch.Tensor):
            return self._kept(value, lambda: self._tensor_or_graph(torch, value, depth))
        if isinstance(value, torch.nn.Module):
            if not _standard_layer(torch, value):
                return self._unknown(value)
            return self._kept(value, lambda: {"module": self.value(_describe_module(value), depth + 1)})
        if self.objects is not None and _standard_optimizer(torch, value):
            return self._kept(value, lambda: {"optimizer": self.value(_describe_optimizer(value), depth + 1)})
        if type(value) is torch.dtype and _torch_dtype_name(value) in TORCH_DTYPES:
            return {"torch_dtype": _torch_dtype_name(value)}
        if type(value) is torch.Size:
            return {"torch_size": [int(n) for n in value]}
        return _SKIP

    def _tensor(self, torch, tensor, depth):
        name = _torch_dtype_name(tensor.dtype)
        if name not in TORCH_DTYPES or tensor.layout is not torch.strided or tensor.is_meta:
            return _opaque(tensor)
        data = tensor.detach().cpu().resolve_conj().resolve_neg()
        data = data.view(torch.int16) if name == "bfloat16" else data
        grad = tensor.grad if tensor.is_leaf else None  # .grad of a non-leaf only warns
        return {"tensor": _npy(data.numpy()), "dtype": name,
                "requires_grad": bool(tensor.requires_grad),
                "parameter": isinstance(tensor, torch.nn.Parameter),
                "grad": None if grad is None else self._tensor(torch, grad, depth + 1)}

    def _tensor_or_graph(self, torch, tensor, depth):
        """With Objects, a tensor that autograd computed travels with its graph (if every step
        of it is on GRAPH_STEPS): the steps and the leaves (tensors that crossed keep one identity)."""
        if self.objects is None or tensor.grad_fn is None or id(tensor) in self.objects.keys:
            return self._tensor(torch, tensor, depth)  # (one that crossed before: the other side has its graph)
        steps = _graph_steps(tensor.grad_fn)
        if steps is None:
            return self._tensor(torch, tensor, depth)
        encoded = [[name, [None if i is None else i if type(i) is int else {"leaf": self.value(i, depth + 1)}
                           for i in inputs], self.value(saved, depth + 1)] for name, inputs, saved in steps]
        return {"graph": encoded, "data": self._tensor(torch, tensor, depth)}

    def _kept(self, value, encode):
        """With Objects: the value under its key (new), or as a reference with its value now."""
        if self.objects is None:
            return encode()
        key = self.objects.keys.get(id(value))
        if key is not None:
            return {"ref": key, "value": encode()}
        encoded = encode()  # (its parameters, a model's, get their keys first)
        return {"key": self.objects.add(value), "value": encoded}

    def _builtin(self, value, depth):
        # the first built-in type in the value's MRO: a subclass travels as its plain value
        kind = next((kind for kind in type(value).__mro__ if kind in _PLAIN), None)
        return _SKIP if kind is None else _PLAIN[kind](self, value, depth)

    def _int(self, value, depth):
        number = int.__int__(value)
        if _too_long(number, LIMITS.digits):
            raise WireError(f"an integer of more than {LIMITS.digits} digits cannot be sent")
        return number

    def _float(self, value, depth):
        number = float.__float__(value)
        return number if math.isfinite(number) else {"float": struct.pack(">d", number).hex()}

    def _complex(self, value, depth):
        return {"complex": [self._float(complex.real.__get__(value), depth),
                            self._float(complex.imag.__get__(value), depth)]}

    def _items(self, values, depth):
        return [self.value(item, depth + 1) for item in values]

    def _dict(self, value, depth):
        return {"dict": [[self._dict_key(key, depth), self.value(item, depth + 1)]
                         for key, item in dict.items(value)]}

    def _dict_key(self, key, depth):
        """A key that is the id() of an object that crossed names that object (the other side's
        copy has an id of its own): {id(t): name for the leaves t} works on both sides."""
        if self.objects is not None and type(key) is int and key in self.objects.keys:
            return {"id_of": self.objects.keys[key]}
        return self.value(key, depth + 1)

    def _callable(self, value, depth):
        if self.objects is not None and self.objects.tester and getattr(value, "__wire_traced__", False):
            return {"traced": self.value(_trace(value), depth + 1)}
        if self.callables is None or not (isinstance(value, CALLABLE_TYPES) or getattr(value, "__wire_callback__", False)):
            return _SKIP  # (__wire_callback__: an object that the other side is to call back, as the tester's Remote)
        number = next((n for n, known in self.callables.items() if known is value), None)
        if number is None:
            number = max(self.callables, default=-1) + 1
            self.callables[number] = value
        return {"callback": number}

    def _type(self, value, depth):
        if isinstance(value, np.dtype):
            return {"dtype": value.str} if _travels(value) else _opaque(value)
        if isinstance(value, type) and value in TYPE_NAMES:
            return {"type": TYPE_NAMES[value]}
        return _SKIP


_PLAIN = {
    type(None): lambda writer, value, depth: None,
    bool: lambda writer, value, depth: value,
    str: lambda writer, value, depth: str.__str__(value),
    int: _Writer._int,
    float: _Writer._float,
    complex: _Writer._complex,
    bytes: lambda writer, value, depth: {"bytes": _base64(b"".join([value]))},
    bytearray: lambda writer, value, depth: {"bytearray": _base64(b"".join([value]))},
    list: lambda writer, value, depth: writer._items(list.__iter__(value), depth),
    tuple: lambda writer, value, depth: {"tuple": writer._items(tuple.__iter__(value), depth)},
    set: lambda writer, value, depth: {"set": writer._items(set.__iter__(value), depth)},
    frozenset: lambda writer, value, depth: {
        "frozenset": writer._items(frozenset.__iter__(value), depth)},
    dict: _Writer._dict,
    fractions.Fraction: lambda writer, value, depth: {
        "fraction": [writer._int(value.numerator, depth), writer._int(value.denominator, depth)]},
}


def _too_long(number, digits):
    """Whether number has more than this many decimal digits (without printing a huge one)."""
    bits, most = number.bit_length(), digits * math.log2(10)
    return bits > most + 1 or bits > most - 1 and len(str(abs(number))) > digits


def _opaque(value):
    return {"object": _type_name(type(value))}


def _type_name(kind):
    """A type's name with its module's (a built-in type's alone), cut to NAME_CHARS."""
    module, name = getattr(kind, "__module__", "?"), getattr(kind, "__qualname__", "?")
    return str(name if module == "builtins" else f"{module}.{name}")[:NAME_CHARS]


def _travels(dtype):
    """Whether an array of this dtype travels (booleans, integers, floats, complex numbers)."""
    return ARRAY_DTYPE.fullmatch(dtype.str) is not None and dtype.fields is None


def _npy(array):
    """The array as base64 text of its .npy file (numpy's own format: dtype, shape, order, bits)."""
    stream = io.BytesIO()
    np.save(stream, np.asarray(array), allow_pickle=False)
    return _base64(stream.getvalue())


def _base64(data):
    return base64.b64encode(data).decode("ascii")


def _torch_dtype_name(dtype):
    return str(dtype).removeprefix("torch.")


# sympy: srepr's syntax, written from .args (srepr itself prints the terms of a sum in print
# order, and a tree rebuilt unevaluated from that order is not == the original)


def _sympy_encoded(sympy, expression):
    try:
        return {"sympy": _sympy_text(sympy, expression, 0)}
    except (WireError, ValueError, RecursionError):  # a class off the list (a student's own),
        return _opaque(expression)  # an integer too long to print, an expression too deep


def _sympy_text(sympy, expression, depth):
    if depth > LIMITS.depth:
        raise WireError("a sympy expression nested too deeply")
    if type(expression) in _sympy_atom_types(sympy):
        return sympy.srepr(expression)
    name = type(expression).__name__
    if name not in SYMPY_CALLS or _sympy_class(sympy, name) is not type(expression):
        raise WireError(f"sympy's {name} is not on the list")
    return f"{name}({', '.join(_sympy_text(sympy, a, depth + 1) for a in expression.args)})"


@functools.cache
def _sympy_atom_types(sympy):
    """The types that srepr writes as themselves: symbols, numbers, sympy's constants."""
    constants = (getattr(sympy, name) for name in SYMPY_NAMES)
    singletons = (getattr(sympy.S, name) for name in SYMPY_SINGLETONS.values())
    atoms = (getattr(sympy, name) for name in SYMPY_ATOMS)
    return {*atoms, *map(type, constants), *map(type, singletons)}


def _sympy_class(sympy, name):
    return functools.reduce(getattr, SYMPY_CALLS[name].split("."), sympy)


# matplotlib: a figure as what its axes show


def _describe_figure(fig):
    roles = {id(getattr(fig, f"_{role}", None)): role for role in FIGURE_ROLES}
    return {"size": [float(n) for n in fig.get_size_inches()],
            "axes": [_describe_axes(ax) for ax in fig.axes],
            "texts": [{**_describe_text(text), "role": roles.get(id(text))} for text in fig.texts]}


def _describe_axes(ax):
    legend, spec = ax.get_legend(), ax.get_subplotspec()
    collections = sys.modules["matplotlib.collections"]
    return {"subplot": None if spec is None else [int(n) for n in spec.get_geometry()],
            "position": [float(n) for n in ax.get_position().bounds],
            "title": [ax.get_title(place) for place in TITLE_PLACES],
            "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
            "xlim": [float(n) for n in ax.get_xlim()], "ylim": [float(n) for n in ax.get_ylim()],
            "xscale": ax.get_xscale(), "yscale": ax.get_yscale(),
            "legend": None if legend is None else [text.get_text() for text in legend.get_texts()],
            "lines": [_describe_line(line) for line in ax.get_lines()],
            "scatter": [{"offsets": np.asarray(points.get_offsets(), dtype=float),
                         "label": points.get_label()}
                        for points in ax.collections if type(points) is collections.PathCollection],
            "texts": [{**_describe_text(text), "axes": text.get_transform() is ax.transAxes}
                      for text in ax.texts]}


def _describe_line(line):
    to_hex = sys.modules["matplotlib.colors"].to_hex
    markers = sys.modules["matplotlib.markers"].MarkerStyle.markers
    marker = line.get_marker()
    return {"x": _line_data(line, 0), "y": _line_data(line, 1),
            "label": line.get_label(), "color": to_hex(line.get_color(), keep_alpha=True),
            "linestyle": line.get_linestyle(), "linewidth": float(line.get_linewidth()),
            "marker": marker if type(marker) is str and marker in markers else "None"}


def _line_data(line, column):
    """A line's x (column 0) or y data as floats (dates or categories: as matplotlib draws them)."""
    try:
        return np.asarray(line.get_xdata() if column == 0 else line.get_ydata(), dtype=float)
    except (TypeError, ValueError):
        return np.asarray(line.get_xydata()[:, column], dtype=float)


def _describe_text(text):
    x, y = text.get_position()
    try:
        return {"text": text.get_text(), "x": float(x), "y": float(y)}
    except (TypeError, ValueError):  # a position in units (dates, categories)
        return {"text": text.get_text(), "x": 0.0, "y": 0.0}


# torch.nn: a standard layer as its constructor's arguments, tensors and children


def _standard_layer(torch, module):
    name = type(module).__name__
    return name in LAYERS and type(module) is getattr(torch.nn, name) \
        and all(_standard_layer(torch, child) for child in module.children())


def _describe_module(module):
    init = {name: getattr(module, name) is not None if name == "bias" else getattr(module, name)
            for name in LAYERS[type(module).__name__]}
    return {"type": type(module).__name__, "init": init, "training": module.training,
            "parameters": dict(module.named_parameters(recurse=False)),
            "buffers": dict(module.named_buffers(recurse=False)),
            "children": [[name, child] for name, child in module.named_children()]}


# autograd graphs: a tensor's graph as its steps (children first), each a torch function of
# its inputs (another step, a leaf tensor, or None for a constant) and of what autograd saved

GRAPH_STEPS = {  # the backward node's name: (the function that makes it, its saved constants)
    "AddBackward0": ("add", ("_saved_alpha",)), "SubBackward0": ("sub", ("_saved_alpha",)),
    "RsubBackward1": ("rsub", ("_saved_alpha",)), "MulBackward0": ("mul", ("_saved_self", "_saved_other")),
    "DivBackward0": ("div", ("_saved_self", "_saved_other")), "SumBackward0": ("sum", ()),
    "MeanBackward0": ("mean", ()), "PowBackward0": ("pow", ("_saved_exponent",)),
    "SelectBackward0": ("select", ("_saved_dim", "_saved_index")), "PermuteBackward0": ("permute", ("_saved_dims",)),
    "TBackward0": ("t", ()), "MvBackward0": ("mv", ("_saved_self", "_saved_vec")),
    "MmBackward0": ("mm", ("_saved_self", "_saved_mat2")), "DotBackward0": ("dot", ("_saved_self", "_saved_tensor")),
    **{f"{name.capitalize()}Backward0": (name, ()) for name in (
        "tanh", "sigmoid", "exp", "log", "neg", "sqrt", "abs", "relu", "cos", "sin")}}
GRAPH_MOST = 10_000  # steps of one graph


def _graph_steps(output):
    """[(name, inputs, saved)] of the graph that ends in the node output (inputs: a step's
    index, a leaf tensor or None), or None if a step is not on GRAPH_STEPS."""
    steps, index, todo = [], {}, [(output, False)]
    while todo:  # depth first, children before their parent, each node once
        node, ready = todo.pop()
        if node in index:
            continue
        if hasattr(node, "variable"):
            index[node] = node.variable
            continue
        name = type(node).__name__
        if name not in GRAPH_STEPS or len(steps) >= GRAPH_MOST:
            return None
        children = [child for child, _ in node.next_functions if child is not None]
        if not ready:
            todo.append((node, True))
            todo.extend((child, False) for child in reversed(children))
            continue
        inputs = [None if child is None else index[child] for child, _ in node.next_functions]
        saved = {field: _constant(getattr(node, field)) for position, field in enumerate(GRAPH_STEPS[name][1])
                 if hasattr(node, field) and (GRAPH_STEPS[name][0] not in CONSTANT_OPERANDS
                                              or position < len(inputs) and inputs[position] is None)}
        index[node] = len(steps)
        steps.append((name, inputs, saved))
    return steps


CONSTANT_OPERANDS = ("mul", "div", "mv", "mm", "dot")  # saved: an operand's value, needed only for a constant


def _constant(value):
    torch = sys.modules["torch"]
    return value.detach() if isinstance(value, torch.Tensor) else value


def _rebuild_graph(steps):
    """The output of the steps, made again with torch's functions (a constant that autograd did
    not save, such as the 2 of x + 2, is 0 here: the steps and the leaves are exact, and the
    output gets its exact value afterwards)."""
    import torch

    built = []
    for name, inputs, saved in steps:
        function, fields = GRAPH_STEPS[name]
        args = [built[i] if type(i) is int else i for i in inputs]
        if function in CONSTANT_OPERANDS:  # a constant operand: the one autograd saved
            args = [saved.get(field) if arg is None else arg for arg, field in zip(args, fields)]
        args = [torch.zeros(()) if arg is None else arg for arg in args]
        if function in ("add", "sub", "rsub"):
            built.append(getattr(torch, function)(*args, alpha=saved.get("_saved_alpha", 1)))
        elif function in ("pow", "select", "permute"):
            built.append(getattr(torch.Tensor, function)(args[0], *(saved[field] for field in fields)))
        else:
            built.append(getattr(torch, function)(*args))
    return built[-1]


# test functions that the student's code may differentiate: their torch.fx graph

TRACED_FUNCTIONS = {f"operator.{name}": name for name in (
    "add", "sub", "mul", "truediv", "matmul", "pow", "neg", "pos", "getitem")}
TRACED_FUNCTIONS.update({f"torch.{name}": name for name in (
    "exp", "log", "cos", "sin", "tanh", "sigmoid", "relu", "sqrt", "abs", "sum", "mean", "dot",
    "matmul", "outer", "stack", "square")})
TRACED_METHODS = ("sum", "mean", "exp", "log", "cos", "sin", "tanh", "sigmoid", "relu", "sqrt",
                  "abs", "pow", "matmul", "dot", "t", "square")


class _Node:
    """A step of a traced function, where another step uses it."""

    def __init__(self, name):
        self.name = name


def _trace(function):
    """[[kind, name, ...]] of a function's torch.fx graph (parameters with defaults fixed to
    them): inputs, constants, calls of TRACED_FUNCTIONS and TRACED_METHODS, the output."""
    import inspect

    import torch.fx

    fixed = {n: p.default for n, p in inspect.signature(function).parameters.items() if p.default is not p.empty}
    tracer = torch.fx.Tracer()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (fx's: it cannot check at run time that the fixed values are kept)
        graph = tracer.trace(function, concrete_args=fixed)
    plain = lambda args: torch.fx.node.map_arg(args, lambda node: _Node(node.name))  # noqa: E731
    steps = []
    for node in graph.nodes:
        if node.op == "placeholder":
            steps.append(["input", node.name, list(plain(node.args))])
        elif node.op == "get_attr":
            steps.append(["constant", node.name, getattr(tracer.root, node.target)])
        elif node.op == "call_function":
            module = getattr(node.target, "__module__", "") or ""
            steps.append(["call", node.name, f"{module.lstrip('_')}.{node.target.__name__}",
                          list(plain(node.args)), dict(plain(node.kwargs))])
        elif node.op == "call_method":
            steps.append(["method", node.name, node.target, list(plain(node.args)), dict(plain(node.kwargs))])
        elif node.op == "output":
            steps.append(["output", node.name, plain(node.args[0])])
        else:
            raise WireError(f"a traced function does {node.op}")
    return steps


def _traced_function(steps):
    """The function of a traced function's steps (_trace), made of TRACED_FUNCTIONS and
    TRACED_METHODS only. Its constants are copied for each call (as if the test's function made
    them anew)."""
    import copy
    import operator

    import torch

    steps = _items(steps, "a traced function")
    for step in steps:
        if type(step) is not list or not step or step[0] not in ("input", "constant", "call", "method", "output") \
                or step[0] == "call" and step[2] not in TRACED_FUNCTIONS \
                or step[0] == "method" and step[2] not in TRACED_METHODS:
            raise WireError(f"a traced function's step {str(step)[:80]} is not on the list")

    def traced(*args):
        values, given = {}, list(args)
        find = lambda data: _map_nodes(data, lambda node: values[node.name])  # noqa: E731
        for kind, name, *rest in steps:
            if kind == "input":
                values[name] = given.pop(0) if given else find(rest[0][0])
            elif kind == "constant":
                values[name] = copy.deepcopy(rest[0])
            elif kind == "call":
                module = operator if rest[0].startswith("operator.") else torch
                target = getattr(module, TRACED_FUNCTIONS[rest[0]])
                values[name] = target(*find(rest[1]), **find(rest[2]))
            elif kind == "method":
                head, *tail = find(rest[1])
                values[name] = getattr(head, rest[0])(*tail, **find(rest[2]))
            else:
                return find(rest[0])
        raise WireError("a traced function without an output")

    return traced


def _map_nodes(data, find):
    if type(data) is _Node:
        return find(data)
    if type(data) in (list, tuple):
        return type(data)(_map_nodes(item, find) for item in data)
    if type(data) is dict:
        return {key: _map_nodes(item, find) for key, item in data.items()}
    return data


def _standard_optimizer(torch, value):
    name = type(value).__name__
    return name in OPTIMIZERS and type(value) is getattr(torch.optim, name)


def _describe_optimizer(optimizer):
    groups = [{"params": list(group["params"]), "options": {k: v for k, v in group.items() if k != "params"}}
              for group in optimizer.param_groups]
    state = [[p, dict(optimizer.state[p])] for group in optimizer.param_groups for p in group["params"]
             if p in optimizer.state]
    return {"type": type(optimizer).__name__, "groups": groups, "state": state}


# ---------------------------------------------------------------------------------------------
# loads


def loads(text, callback=None, limit=LIMITS, objects=None):
    """The value that text describes (dumps). callback(number) makes the stand-in for a function
    sent as {"callback": number}; objects: the test cell's Objects (dumps'). Hostile text raises
    WireError and builds nothing it names."""
    reader = _Reader(limit, callback, objects)
    return reader.guarded(lambda: reader.value(reader.parse(text), 0))


class _Reader:
    """One loads: the limits, what has been used of them, and the builders of every form."""

    def __init__(self, limit, callback, objects=None):
        self.limit, self.callback, self.objects = limit, callback, objects
        self.items = self.elements = 0
        self.figures = []  # closed again if the text turns out to be malformed

    def guarded(self, read):
        try:
            return read()
        except WireError:
            self._close_figures()
            raise
        except Exception as error:  # torch's, sympy's and matplotlib's checks raise what they like
            self._close_figures()
            raise WireError(f"malformed: {type(error).__name__}: {str(error)[:200]}") from error

    def _close_figures(self):
        for fig in self.figures:
            sys.modules["matplotlib.pyplot"].close(fig)

    def parse(self, text):
        if isinstance(text, (bytes, bytearray)):
            text = bytes(text).decode("utf-8")
        if type(text) is not str:
            raise WireError(f"expected JSON text, not {type(text).__name__}")
        if len(text) > self.limit.chars:
            raise WireError(f"the text is longer than {self.limit.chars} characters")
        try:
            return json.loads(text, parse_int=self._int, parse_constant=_no_constant)
        except RecursionError:
            raise WireError("the text is nested too deeply") from None
        except json.JSONDecodeError as error:
            raise WireError(f"not JSON: {error}") from None

    def _int(self, digits):
        if len(digits.lstrip("-")) > self.limit.digits:
            raise WireError(f"an integer of more than {self.limit.digits} digits")
        return int(digits)

    def count(self, depth):
        self.items += 1
        if self.items > self.limit.items:
            raise WireError(f"more than {self.limit.items} values")
        if depth > self.limit.depth:
            raise WireError(f"nested deeper than {self.limit.depth} levels")

    def value(self, data, depth):
        self.count(depth)
        if type(data) is list:
            return [self.value(item, depth + 1) for item in data]
        if type(data) is dict:
            return self._form(data, depth)
        return data  # null, true, false, a number, a string

    def _form(self, data, depth):
        fields, build = _FORMS.get(frozenset(data), (None, None))
        if build is None:
            raise WireError(f"no value has the fields {sorted(data)[:6]}")
        return build(self, *(data[field] for field in fields), depth)

    # the forms, each with its fields' values (in _FORMS' order) and the depth

    def _list(self, items, depth):
        if type(items) is not list:
            raise WireError("expected a list")
        return [self.value(item, depth + 1) for item in items]

    def _tuple(self, items, depth):
        return tuple(self._list(items, depth))

    def _set(self, items, depth):
        return {_key(item) for item in self._list(items, depth)}

    def _frozenset(self, items, depth):
        return frozenset(self._set(items, depth))

    def _dict(self, pairs, depth):
        result = {}
        for pair in self._list(pairs, depth):
            if type(pair) is not list or len(pair) != 2:
                raise WireError("a dict entry is not a [key, value] pair")
            result[_key(pair[0])] = pair[1]
        return result

    def _float(self, bits, depth):
        if type(bits) is not str or not re.fullmatch(r"[0-9a-f]{16}", bits):
            raise WireError("a float's bits are not 16 hexadecimal digits")
        return struct.unpack(">d", bytes.fromhex(bits))[0]

    def _complex(self, parts, depth):
        parts = self._list(parts, depth)
        if len(parts) != 2 or any(type(part) is not float for part in parts):
            raise WireError("a complex number is not two floats")
        return complex(*parts)

    def _bytes(self, text, depth):
        return _unbase64(text)

    def _bytearray(self, text, depth):
        return bytearray(_unbase64(text))

    def _fraction(self, parts, depth):
        parts = self._list(parts, depth)
        if len(parts) != 2 or any(type(part) is not int for part in parts) or parts[1] == 0:
            raise WireError("a fraction is not two integers (the second not 0)")
        return fractions.Fraction(*parts)

    def _ndarray(self, text, depth):
        return self._npy(text)

    def _npy(self, text):
        """The array of a .npy file (base64): checked before anything is allocated."""
        data = _unbase64(text)
        stream = io.BytesIO(data)
        shape, fortran, dtype = _npy_header(stream)
        count = math.prod(shape)
        if any(n < 0 for n in shape):
            raise WireError("an array of a negative dimension")
        most = self.limit.elements - self.elements  # what is left of the limit
        if max(shape, default=0) > most or count > most:
            raise WireError(f"more than {self.limit.elements} array elements")
        self.elements += count
        offset = stream.tell()
        if len(data) - offset != count * dtype.itemsize:
            raise WireError("an array's bytes do not match its shape")
        flat = np.frombuffer(data, dtype, count, offset) if count else np.empty(0, dtype)
        flat = flat.view(np.uint8) != 0 if dtype.kind == "b" else flat  # only 0 and 1 are booleans
        return flat.reshape(shape, order="F" if fortran else "C").copy(order="K")

    def _numpy_scalar(self, char, bits, depth):
        if type(char) is not str or len(char) != 1 or char not in SCALAR_CHARS:
            raise WireError(f"no numpy scalar type {str(char)[:20]!r}")
        dtype = np.dtype(char)
        digits = 2 * dtype.itemsize
        if type(bits) is not str or len(bits) != digits or not re.fullmatch("[0-9a-f]*", bits):
            raise WireError(f"the bits of a numpy {dtype.name} are not {digits} hexadecimal digits")
        if char == "?":
            return np.bool_(bits != "00")  # only 0 and 1 are booleans
        return np.frombuffer(bytes.fromhex(bits), dtype=dtype)[0]

    def _dtype(self, text, depth):
        if type(text) is not str or not ARRAY_DTYPE.fullmatch(text):
            raise WireError("no numpy dtype of booleans or numbers")
        return np.dtype(text)

    def _type(self, name, depth):
        if type(name) is not str or name not in TYPES:
            raise WireError(f"no type {str(name)[:40]!r} on the list")
        return TYPES[name]

    def _callback(self, number, depth):
        if type(number) is not int or number < 0:
            raise WireError("a callback's number is not a natural number")
        if self.callback is None:
            raise WireError("a callback, and nothing to make its stand-in")
        return self.callback(number)

    def _object(self, name, depth):
        return Opaque(_text(name, "a type name", NAME_CHARS))

    # torch

    def _tensor(self, data, dtype, requires_grad, parameter, grad, depth):
        import torch

        array = self._npy(data)
        if type(dtype) is not str or dtype not in TORCH_DTYPES \
                or array.dtype != np.dtype(TORCH_DTYPES[dtype]):
            raise WireError(f"a tensor's dtype {str(dtype)[:20]!r} does not match its data")
        tensor = torch.from_numpy(array)
        tensor = tensor.view(torch.bfloat16) if dtype == "bfloat16" else tensor
        if _flag(parameter, "parameter"):
            tensor = torch.nn.Parameter(tensor, requires_grad=_flag(requires_grad, "requires_grad"))
        elif _flag(requires_grad, "requires_grad"):
            tensor.requires_grad_()
        if grad is not None:
            tensor.grad = self._gradient(torch, grad, tensor, depth)
        return tensor

    def _gradient(self, torch, data, tensor, depth):
        grad = self.value(data, depth + 1)
        if type(grad) is not torch.Tensor or grad.shape != tensor.shape \
                or grad.dtype != tensor.dtype:
            raise WireError("a tensor's grad is not a tensor of its shape and dtype")
        return grad

    def _torch_dtype(self, name, depth):
        import torch

        if type(name) is not str or name not in TORCH_DTYPES:
            raise WireError(f"no torch dtype {str(name)[:20]!r} on the list")
        return getattr(torch, name)

    def _torch_size(self, dims, depth):
        import torch

        if type(dims) is not list or any(type(n) is not int or n < 0 for n in dims):
            raise WireError("a torch.Size is not a list of natural numbers")
        return torch.Size(dims)

    def _module(self, description, depth):
        return _build_module(self.value(description, depth + 1))

    def _optimizer(self, description, depth):
        return _build_optimizer(self.value(description, depth + 1))

    def _keyed(self, key, value, depth):
        objects = self.objects
        if objects is None or type(value) is not dict or not KEPT_FORMS & set(value):
            raise WireError("a key for something that is not a tensor, layer, optimizer or object")
        if set(value) == {"handle", "class"}:  # an object left in the kernel: the tester's handle
            if objects.handle is None:
                raise WireError("a handle, sent to the kernel")
            kind = objects.classes.get(value["class"]) if type(value["class"]) is str else None
            built = objects.handle(key, _text(value["handle"], "a type name", NAME_CHARS), kind)
            objects.put(key, built, bare=True)
            return built
        if set(value) == {"instance", "args", "state"}:  # an instance of a class of the test
            if objects.tester:
                raise WireError("an instance of a class of the test, sent to the tester")
            built = self._instance(value, depth)
            objects.put(key, built, bare=True)
            return built
        built = self.value(value, depth + 1)
        objects.put(key, built)
        return built

    def _instance(self, value, depth):
        kind = self.objects.classes.get(value["instance"]) if type(value["instance"]) is str else None
        if kind is None:
            raise WireError("an instance of a class that is not defined here")
        arguments = self.value(value["args"], depth + 1)
        if type(arguments) is not list or len(arguments) != 2 or type(arguments[0]) is not list \
                or type(arguments[1]) is not dict or not all(type(k) is str for k in arguments[1]):
            raise WireError("an instance's arguments are not [args, kwargs]")
        built = kind(*arguments[0], **arguments[1])
        state = self.value(value["state"], depth + 1)
        if state:
            built.load_state_dict(state)
        return built

    def _bare_reference(self, key, depth):
        if self.objects is None:
            raise WireError("a reference, and no objects to refer to")
        return self.objects.get(key)

    def _id_of(self, key, depth):
        return id(self._bare_reference(key, depth))

    def _node(self, name, depth):
        return _Node(_text(name, "a step's name", NAME_CHARS))

    def _graph(self, steps, data, depth):
        import torch

        steps = [self._graph_step(step, depth) for step in _items(steps, "a graph")]
        if not steps or len(steps) > GRAPH_MOST:
            raise WireError("a graph of no steps or too many")
        for position, (_, inputs, _) in enumerate(steps):
            if any(type(i) is int and not 0 <= i < position for i in inputs):
                raise WireError("a graph step's input is not an earlier step")
        value = self.value(data, depth + 1)
        if type(value) is not torch.Tensor:
            raise WireError("a graph's value is not a tensor")
        output = _rebuild_graph(steps)
        with torch.no_grad():
            output.data = value.to(output.dtype) if output.shape == value.shape else value
        return output

    def _graph_step(self, step, depth):
        import torch

        if type(step) is not list or len(step) != 3 or step[0] not in GRAPH_STEPS:
            raise WireError("a graph step is not [a step on the list, inputs, saved values]")
        name, inputs, saved = step
        inputs = [i if i is None or type(i) is int else self._leaf(i, depth) for i in _items(inputs, "inputs")]
        saved = self.value(saved, depth + 1)
        if type(saved) is not dict or not set(saved) <= set(GRAPH_STEPS[name][1]) \
                or not all(type(v) in (int, float, bool, tuple, torch.Tensor) for v in saved.values()):
            raise WireError("a graph step's saved values are not its constants")
        return name, inputs, saved

    def _leaf(self, data, depth):
        import torch

        if type(data) is not dict or set(data) != {"leaf"}:
            raise WireError("a graph step's input is not a step, a leaf or null")
        leaf = self.value(data["leaf"], depth + 1)
        if not isinstance(leaf, torch.Tensor):
            raise WireError("a graph's leaf is not a tensor")
        return leaf

    def _traced(self, steps, depth):
        if self.objects is None or self.objects.tester:
            raise WireError("a traced function, sent to the tester")
        return _traced_function(self.value(steps, depth + 1))

    def _reference(self, key, value, depth):
        if self.objects is None:
            raise WireError("a reference, and no objects to refer to")
        kept = self.objects.get(key)
        _update(kept, self.value(value, depth + 1))
        return kept

    # sympy, matplotlib

    def _sympy(self, text, depth):
        return _SympyReader(self).build(_text(text, "a sympy expression", self.limit.chars))

    def _figure(self, description, depth):
        description = self.value(description, depth + 1)
        size, axes, texts = _fields(description, ("size", "axes", "texts"), "a figure")
        size = _numbers(size, 2, "a figure's size")
        if not all(0 < inches <= MAX_INCHES for inches in size):
            raise WireError(f"a figure's size is not between 0 and {MAX_INCHES} inches")
        fig = _pyplot().figure(figsize=size)
        self.figures.append(fig)
        for data in _items(axes, "a figure's axes"):
            _build_axes(fig, data)
        for data in _items(texts, "a figure's texts"):
            _build_figure_text(fig, data)
        return fig


_FORMS = {frozenset(fields): (fields, build) for fields, build in (
    (("tuple",), _Reader._tuple), (("set",), _Reader._set),
    (("frozenset",), _Reader._frozenset), (("dict",), _Reader._dict), (("float",), _Reader._float),
    (("complex",), _Reader._complex), (("bytes",), _Reader._bytes),
    (("bytearray",), _Reader._bytearray), (("fraction",), _Reader._fraction),
    (("ndarray",), _Reader._ndarray), (("numpy", "bits"), _Reader._numpy_scalar),
    (("dtype",), _Reader._dtype), (("type",), _Reader._type), (("callback",), _Reader._callback),
    (("object",), _Reader._object),
    (("tensor", "dtype", "requires_grad", "parameter", "grad"), _Reader._tensor),
    (("torch_dtype",), _Reader._torch_dtype), (("torch_size",), _Reader._torch_size),
    (("module",), _Reader._module), (("sympy",), _Reader._sympy), (("figure",), _Reader._figure),
    (("optimizer",), _Reader._optimizer), (("key", "value"), _Reader._keyed),
    (("ref", "value"), _Reader._reference), (("ref",), _Reader._bare_reference), (("id_of",), _Reader._id_of),
    (("node",), _Reader._node), (("graph", "data"), _Reader._graph), (("traced",), _Reader._traced))}
KEPT_FORMS = {"tensor", "module", "optimizer", "graph", "handle", "instance"}


def _no_constant(name):
    raise WireError(f"{name} is not JSON (a float that is not finite travels as its bits)")


def _unbase64(text):
    if type(text) is not str:
        raise WireError("expected base64 text")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as error:
        raise WireError(f"not base64: {error}") from None


def _npy_header(stream):
    """(shape, fortran_order, dtype) of a .npy file: only plain dtypes of booleans and numbers."""
    version = np.lib.format.read_magic(stream)
    if version not in ((1, 0), (2, 0)):
        raise WireError(f"a .npy file of version {version}")
    npy = np.lib.format
    header = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
    shape, fortran, dtype = header(stream)  # numpy reads it with ast.literal_eval, of capped size
    if not _travels(dtype) or dtype != np.dtype(dtype.str) or type(fortran) is not bool:
        raise WireError(f"an array of dtype {str(dtype)[:40]} (only booleans and numbers travel)")
    return shape, fortran, dtype


def _key(value):
    """value, if it may be a dict key or a set element: plain hashable values only."""
    sympy = sys.modules.get("sympy")
    plain = (type(value) in (str, int, float, bool, type(None), complex, fractions.Fraction)
             or isinstance(value, np.generic)
             or sympy is not None and isinstance(value, sympy.Basic)
             or type(value) in (tuple, frozenset) and all(_key(item) is item for item in value))
    if not plain:
        raise WireError(f"a value of type {type(value).__name__} as a dict key or set element")
    return value


def _text(value, what, most=MESSAGE_CHARS):
    if type(value) is not str or len(value) > most:
        raise WireError(f"{what} is not a text of at most {most} characters")
    return value


def _flag(value, what):
    if type(value) is not bool:
        raise WireError(f"{what} is not true or false")
    return value


def _numbers(value, count, what):
    if type(value) is not list or len(value) != count \
            or any(type(n) not in (int, float) or not math.isfinite(n) for n in value):
        raise WireError(f"{what} is not {count} finite numbers")
    return [float(n) for n in value]


def _fields(data, names, what):
    """data's values for names, in their order: data must be a dict of exactly these fields."""
    if type(data) is not dict or set(data) != set(names):
        raise WireError(f"{what} has not the fields {', '.join(names)}")
    return [data[name] for name in names]


def _items(value, what):
    if type(value) is not list:
        raise WireError(f"{what} is not a list")
    return value


# sympy


class _SympyReader:
    """A sympy expression from srepr text, built from the text's syntax tree node by node:
    only calls of names on the fixed lists, their arguments again such calls (or the constants
    of Symbol, Integer, Rational and Float), every node counted against the reader's limits.
    Nodes are built unevaluated, so that no text makes sympy compute (10**10**9, say)."""

    def __init__(self, reader):
        import sympy

        self.sympy, self.reader = sympy, reader
        self.atoms = {"Symbol": self._symbol, "Dummy": self._dummy, "Integer": self._integer,
                      "Rational": self._rational, "Float": self._float}

    def build(self, text):
        try:
            tree = ast.parse(text, mode="eval")
        except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
            raise WireError(f"a sympy text that does not parse: {type(error).__name__}") from None
        return self.node(tree.body, 0)  # a term's depth counts from the expression's top

    def node(self, node, depth):
        self.reader.count(depth)
        if _identifier(node) in SYMPY_NAMES:
            return getattr(self.sympy, node.id)
        if type(node) is ast.UnaryOp and type(node.op) is ast.USub \
                and _identifier(node.operand) == "oo":
            return self.sympy.S.NegativeInfinity
        if type(node) is ast.Call and type(node.func) is ast.Name:
            return self.call(node.func.id, node, depth)
        raise WireError(f"a sympy expression holds {_node_text(node)}, which is not on the list")

    def call(self, name, node, depth):
        if name in self.atoms:
            return self.atoms[name](node)
        if name in SYMPY_SINGLETONS and not node.args and not node.keywords:
            return getattr(self.sympy.S, SYMPY_SINGLETONS[name])
        if name not in SYMPY_CALLS or node.keywords:
            raise WireError(f"a sympy expression calls {name[:40]!r}, which is not on the list")
        kind = _sympy_class(self.sympy, name)
        args = [self.node(arg, depth + 1) for arg in node.args]
        return kind(*args) if name in SYMPY_UNEVALUATED else kind(*args, evaluate=False)

    def _symbol(self, node):
        return self.sympy.Symbol(self._name(node), **self._keywords(node, ASSUMPTIONS))

    def _dummy(self, node):
        keywords = self._keywords(node, (*ASSUMPTIONS, "dummy_index"))
        return self.sympy.Dummy(self._name(node), **keywords)

    def _integer(self, node):
        (value,) = self._constants(node, 1, int)
        return self.sympy.Integer(value)

    def _rational(self, node):
        numerator, denominator = self._constants(node, 2, int)
        if denominator == 0:
            raise WireError("a Rational with denominator 0")
        return self.sympy.Rational(numerator, denominator)

    def _float(self, node):
        (text,) = self._constants(node, 1, str)
        if len(text) > self.reader.limit.digits or not FLOAT_TEXT.fullmatch(text):
            raise WireError(f"a Float of the text {text[:40]!r}")
        precision = self._keywords(node, ("precision",)).get("precision", 53)
        if not 1 <= precision <= MAX_PRECISION:
            raise WireError(f"a Float of precision {precision}")
        return self.sympy.Float(text, precision=precision)

    def _name(self, node):
        (name,) = self._constants(node, 1, str)
        return _text(name, "a symbol's name", NAME_CHARS)

    def _constants(self, node, count, kind):
        if len(node.args) != count:
            raise WireError(f"a sympy {node.func.id} of {len(node.args)} arguments")
        return [self._constant(arg, kind) for arg in node.args]

    def _constant(self, node, kind):
        negative = type(node) is ast.UnaryOp and type(node.op) is ast.USub
        node = node.operand if negative else node
        if type(node) is not ast.Constant or type(node.value) is not kind \
                or negative and kind is not int:
            raise WireError(f"a sympy text holds {_node_text(node)} for {CONSTANTS[kind]}")
        if kind is int and _too_long(node.value, self.reader.limit.digits):
            raise WireError(f"an integer of more than {self.reader.limit.digits} digits")
        return -node.value if negative else node.value

    def _keywords(self, node, allowed):
        """The keyword arguments of node: only names in allowed, each with a constant (assumptions
        true or false, dummy_index and precision an integer)."""
        result = {}
        for keyword in node.keywords:
            if keyword.arg not in allowed:
                raise WireError(f"a sympy {node.func.id} with a keyword {str(keyword.arg)[:40]!r}")
            kind = bool if keyword.arg in ASSUMPTIONS else int
            result[keyword.arg] = self._constant(keyword.value, kind)
        return result


def _identifier(node):
    return node.id if type(node) is ast.Name else None


def _node_text(node):
    try:
        return repr(ast.unparse(node)[:60])
    except (ValueError, RecursionError):
        return f"a {type(node).__name__}"


# matplotlib


def _pyplot():
    if "matplotlib.pyplot" not in sys.modules:
        import matplotlib

        matplotlib.use("Agg")  # no window: the tester has no screen
    import matplotlib.pyplot as plt

    return plt


def _build_figure_text(fig, data):
    text, x, y, role = _placed_text(data, "role")
    if role is None:
        fig.text(x, y, text)
    else:  # fig.suptitle, fig.supxlabel or fig.supylabel
        getattr(fig, _choice(role, FIGURE_ROLES, "a figure text's role"))(text, x=x, y=y)


AXES_FIELDS = ("subplot", "position", "title", "xlabel", "ylabel", "xlim", "ylim", "xscale",
               "yscale", "legend", "lines", "scatter", "texts")


def _build_axes(fig, data):
    (subplot, position, title, xlabel, ylabel, xlim, ylim, xscale, yscale, legend, lines, scatter,
     texts) = _fields(data, AXES_FIELDS, "an axes")
    ax = _new_axes(fig, subplot, _numbers(position, 4, "an axes' position"))
    ax.set_xscale(_choice(xscale, SCALES, "an axes' xscale"))
    ax.set_yscale(_choice(yscale, SCALES, "an axes' yscale"))
    for line in _items(lines, "an axes' lines"):
        _build_line(ax, line)
    for points in _items(scatter, "an axes' scatter plots"):
        offsets, label = _fields(points, ("offsets", "label"), "a scatter plot")
        offsets = _floats(offsets, 2, "a scatter plot's offsets")
        ax.scatter(offsets[:, 0], offsets[:, 1], label=_text(label, "a label"))
    for item in _items(texts, "an axes' texts"):
        text, x, y, in_axes = _placed_text(item, "axes")
        ax.text(x, y, text, transform=ax.transAxes if _flag(in_axes, "axes") else ax.transData)
    ax.set_xlim(_numbers(xlim, 2, "an axes' xlim"))
    ax.set_ylim(_numbers(ylim, 2, "an axes' ylim"))
    _label_axes(ax, title, xlabel, ylabel, legend)


def _new_axes(fig, subplot, position):
    if subplot is None:
        return fig.add_axes(position)
    if type(subplot) is not list or len(subplot) != 4 or any(type(n) is not int for n in subplot):
        raise WireError("an axes' subplot geometry is not 4 integers")
    rows, columns, first, last = subplot
    if not (0 < rows <= 100 and 0 < columns <= 100 and 0 <= first <= last < rows * columns):
        raise WireError("an axes' subplot geometry out of range")
    ax = fig.add_subplot(rows, columns, (first + 1, last + 1))
    ax.set_position(position)
    return ax


def _build_line(ax, data):
    x, y, label, color, linestyle, linewidth, marker = _fields(
        data, ("x", "y", "label", "color", "linestyle", "linewidth", "marker"), "a line")
    lines = sys.modules["matplotlib.lines"]
    markers = sys.modules["matplotlib.markers"].MarkerStyle.markers
    if type(color) is not str or not COLOR.fullmatch(color):
        raise WireError("a line's color is not #rrggbbaa")
    ax.plot(_floats(x, 1, "a line's x"), _floats(y, 1, "a line's y"),
            label=_text(label, "a label"), color=color,
            linestyle=_choice(linestyle, tuple(lines.Line2D.lineStyles), "a line style"),
            linewidth=_numbers([linewidth], 1, "a line width")[0],
            marker=_choice(marker, tuple(m for m in markers if type(m) is str), "a marker"))


def _label_axes(ax, title, xlabel, ylabel, legend):
    titles = _items(title, "an axes' titles")
    if len(titles) != len(TITLE_PLACES):
        raise WireError("an axes' titles are not left, center and right")
    for place, text in zip(TITLE_PLACES, titles):
        if _text(text, "a title"):
            ax.set_title(text, loc=place)
    ax.set_xlabel(_text(xlabel, "an x label"))
    ax.set_ylabel(_text(ylabel, "a y label"))
    if legend is not None:
        texts = [_text(text, "a legend entry") for text in _items(legend, "a legend")]
        _build_legend(ax, texts)


def _build_legend(ax, texts):
    """A legend of these texts; each entry's handle is the artist of that label (if any)."""
    lines = sys.modules["matplotlib.lines"]
    drawn = [*ax.get_lines(), *ax.collections]
    artists = {artist.get_label(): artist for artist in reversed(drawn)}  # the first of each label
    ax.legend([artists[text] if text in artists else lines.Line2D([], []) for text in texts], texts)


def _placed_text(data, extra):
    """(text, x, y, the value of the field extra) of a text's description."""
    text, x, y, value = _fields(data, ("text", "x", "y", extra), "a text")
    return _text(text, "a text"), *_numbers([x, y], 2, "a text's position"), value


def _floats(value, ndim, what):
    if type(value) is not np.ndarray or value.dtype != np.float64 or value.ndim != ndim \
            or ndim == 2 and value.shape[1] != 2:
        raise WireError(f"{what} is not an array of floats")
    return value


def _choice(value, options, what):
    if type(value) is not str or value not in options:
        raise WireError(f"{what} is not one of {', '.join(map(repr, options[:8]))}")
    return value


# torch.nn

MODULE_FIELDS = ("type", "init", "training", "parameters", "buffers", "children")


def _build_module(description):
    """A standard layer again: made on the meta device (nothing allocated, whatever sizes the
    text names), then given the tensors that travelled, which must have the shapes it made."""
    import torch

    name, init, training, parameters, buffers, children = \
        _fields(description, MODULE_FIELDS, "a module")
    if type(name) is not str or name not in LAYERS:
        raise WireError(f"a module of type {str(name)[:40]!r}, which is not on the list")
    if type(init) is not dict or set(init) != set(LAYERS[name]) \
            or not all(map(_plain_argument, init.values())):
        raise WireError(f"the arguments of a {name} are not {', '.join(LAYERS[name]) or 'none'}")
    with torch.device("meta"):
        module = getattr(torch.nn, name)(**init)
    made = dict(module.named_parameters(recurse=False))
    _replace_tensors(module, parameters, made, torch.nn.Parameter)
    _replace_tensors(module, buffers, dict(module.named_buffers(recurse=False)), torch.Tensor)
    _add_children(module, children)
    module.training = _flag(training, "training")
    return module


def _plain_argument(value):
    return type(value) in (int, float, bool, str, type(None)) \
        or type(value) is tuple and all(type(n) is int for n in value)


def _replace_tensors(module, sent, made, kind):
    if type(sent) is not dict or set(sent) != set(made):
        raise WireError(f"a {type(module).__name__}'s tensors are not {', '.join(made) or 'none'}")
    for name, tensor in sent.items():
        if type(tensor) is not kind or tensor.shape != made[name].shape:
            layer, shape = type(module).__name__, tuple(made[name].shape)
            raise WireError(f"the {name} of a {layer} is not a {kind.__name__} of shape {shape}")
        setattr(module, name, tensor)


def _add_children(module, children):
    import torch

    container = type(module) in (torch.nn.Sequential, torch.nn.ModuleList)
    for pair in _items(children, "a module's children"):
        if not container or type(pair) is not list or len(pair) != 2 or type(pair[0]) is not str \
                or not isinstance(pair[1], torch.nn.Module):
            raise WireError("a module's children are not [name, layer] pairs of a container")
        module.add_module(_text(pair[0], "a child's name", NAME_CHARS), pair[1])


def _build_optimizer(description):
    import torch

    name, groups, state = _fields(description, ("type", "groups", "state"), "an optimizer")
    if type(name) is not str or name not in OPTIMIZERS:
        raise WireError(f"an optimizer of type {str(name)[:40]!r}, which is not on the list")
    param_groups = []
    for group in _items(groups, "an optimizer's groups"):
        params, options = _fields(group, ("params", "options"), "an optimizer's group")
        if not all(isinstance(p, torch.Tensor) for p in _items(params, "a group's parameters")):
            raise WireError("an optimizer's parameters are not tensors")
        if type(options) is not dict or not all(type(k) is str and _plain_option(v) for k, v in options.items()):
            raise WireError("an optimizer's options are not plain values")
        param_groups.append({**options, "params": params})
    optimizer = getattr(torch.optim, name)(param_groups)
    known = {id(p) for group in param_groups for p in group["params"]}
    for entry in _items(state, "an optimizer's state"):
        if type(entry) is not list or len(entry) != 2 or id(entry[0]) not in known or type(entry[1]) is not dict:
            raise WireError("an optimizer's state is not [parameter, values] pairs")
        optimizer.state[entry[0]] = entry[1]
    return optimizer


def _plain_option(value):
    return type(value) in (int, float, bool, str, type(None)) \
        or type(value) is tuple and all(type(n) in (int, float) for n in value)


def _update(kept, new):
    """Bring an object that crossed before (kept) up to date with its new value, in place."""
    import torch

    if type(new) is not type(kept):
        raise WireError(f"a reference to a {type(kept).__name__} with a value of another type")
    if isinstance(kept, torch.Tensor):
        with torch.no_grad():
            if kept.shape == new.shape and kept.dtype == new.dtype:
                if not torch.equal(kept, new):
                    kept.copy_(new)
            else:
                kept.data = new.detach()
        if kept.is_leaf:
            kept.requires_grad_(new.requires_grad)
            kept.grad = new.grad
    elif isinstance(kept, torch.nn.Module):
        for table in ("_parameters", "_buffers", "_modules"):
            getattr(kept, table).clear()
            getattr(kept, table).update(getattr(new, table))
        kept.training = new.training
    else:  # an optimizer: its parameters are the kept ones already
        kept.param_groups[:] = new.param_groups
        kept.state.clear()
        kept.state.update(new.state)


# ---------------------------------------------------------------------------------------------
# exceptions and warnings


def dump_error(error):
    """JSON text describing a raised exception: its type, the built-in types it derives from,
    its arguments (if plain), message and traceback (both cut to MESSAGE_CHARS)."""
    return json.dumps({"type": _type_name(type(error)), "bases": _builtin_bases(type(error)),
                       "args": _plain_args(error), "message": _safe_str(error),
                       "traceback": _safe_traceback(error)}, allow_nan=False)


def load_error(text, limit=LIMITS):
    """The exception dump_error described: of the same built-in type if that is on the list
    (EXCEPTIONS), else of its nearest built-in base on it (a torch error is a RuntimeError),
    else a StudentError that names the type. remote_type and remote_traceback tell the rest."""
    reader = _Reader(limit, None)
    return reader.guarded(lambda: _built_error(reader.parse(text)))


def _built_error(data):
    name, bases, args, message, trace = \
        _fields(data, ("type", "bases", "args", "message", "traceback"), "an error")
    name, message = _text(name, "an error's type", NAME_CHARS), _text(message, "an error's message")
    kind = EXCEPTIONS.get(name, _nearest(bases, EXCEPTIONS, exclude="Exception"))
    if kind is None:
        error = StudentError(f"{name}: {message}")
    else:
        error = kind(*_args(args)) if args is not None else kind(message)
    error.remote_type, error.remote_traceback = name, _text(trace, "a traceback")
    return error


def _nearest(bases, known, exclude):
    """The first of bases (names, nearest first) that is on the list known, but not exclude."""
    bases = _items(bases, "the bases of a type")
    if len(bases) > 64 or any(type(base) is not str for base in bases):
        raise WireError("the bases of a type are not a few names")
    return next((known[base] for base in bases if base in known and base != exclude), None)


def _args(args):
    args = _items(args, "an error's arguments")
    if len(args) > 16 or not all(map(_plain_arg, args)):
        raise WireError("an error's arguments are not a few plain values")
    return args


def _plain_arg(value):
    """Whether value may travel as an exception's argument: a number, a text, None."""
    if type(value) is float:
        return math.isfinite(value)
    return type(value) in (int, bool, type(None)) \
        or type(value) is str and len(value) <= MESSAGE_CHARS


def _builtin_bases(kind):
    """The names of the built-in types that kind derives from, nearest first."""
    return [base.__name__ for base in getattr(kind, "__mro__", ())[1:]
            if base.__module__ == "builtins"]


def _plain_args(error):
    """error.args if they may travel (else None: the message stands for them)."""
    try:
        args = error.args
    except Exception:  # a student's exception may make args a property that raises
        return None
    plain = type(args) is tuple and len(args) <= 16 and all(map(_plain_arg, args))
    return list(args) if plain else None


def _safe_str(value):
    try:
        return str(value)[:MESSAGE_CHARS]
    except Exception as error:  # a student's __str__ may raise anything
        return f"<unprintable: {type(error).__name__}>"


def _safe_traceback(error):
    try:
        return "".join(traceback.format_exception(error))[-MESSAGE_CHARS:]
    except Exception:  # an exception the student made up (its args, its __traceback__)
        return ""


def dump_warnings(caught):
    """JSON text describing warnings (warnings.WarningMessage, as catch_warnings(record=True)
    gives them): each one's category, its built-in bases and its message."""
    return json.dumps([{"category": _type_name(w.category), "bases": _builtin_bases(w.category),
                        "message": _safe_str(w.message)} for w in caught[:1000]])


def load_warnings(text, limit=LIMITS):
    """[(category, message)] of dump_warnings' text: the category a built-in warning class (the
    same one, else the nearest built-in base other than Warning, else UserWarning)."""
    reader = _Reader(limit, None)
    return reader.guarded(lambda: list(map(_built_warning, _items(reader.parse(text), "warnings"))))


def _built_warning(data):
    name, bases, message = _fields(data, ("category", "bases", "message"), "a warning")
    name = _text(name, "a warning's category", NAME_CHARS)
    kind = WARNINGS.get(name, _nearest(bases, WARNINGS, exclude="Warning") or UserWarning)
    return kind, _text(message, "a warning's message")


