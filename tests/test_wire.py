"""coursegrade.wire: every type there and back exactly, and hostile text refused.

The kernel's side of the wire is the student's: whatever it sends must come back as exact
built-in, numpy, torch, sympy or matplotlib values or be refused with a WireError, quickly and
without running anything the text names.
"""

import base64
import collections
import fractions
import io
import json
import math
import random
import struct
import sys
import time
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import sympy as sp
import torch

from coursegrade import wire

matplotlib.use("agg")
import matplotlib.figure  # noqa: E402 (after the backend is chosen)
import matplotlib.pyplot as plt  # noqa: E402

import dlcourse  # noqa: E402


def there_and_back(value, **options):
    return wire.loads(wire.dumps(value), **options)


def assert_same(got, want):
    """got is want again: the same types all the way down, equal values, floats bit for bit."""
    assert type(got) is type(want), (type(got), type(want))
    if isinstance(want, float):
        assert struct.pack(">d", got) == struct.pack(">d", want)
    elif isinstance(want, complex):
        assert_same(got.real, want.real)
        assert_same(got.imag, want.imag)
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert_same(g, w)
    elif isinstance(want, dict):
        assert list(got) == list(want)
        for key in want:
            assert_same(got[key], want[key])
    elif isinstance(want, np.ndarray):
        assert_same_array(got, want)
    elif isinstance(want, np.generic):
        assert got.tobytes() == want.tobytes()
    else:
        assert got == want


def assert_same_array(got, want):
    assert type(got) is np.ndarray and got.dtype.str == want.dtype.str and got.shape == want.shape
    assert got.tobytes(order="A") == want.tobytes(order="A") and got.flags.writeable
    assert got.flags.f_contiguous == want.flags.f_contiguous or want.ndim < 2


# ---------------------------------------------------------------------------------------------
# round trips

PLAIN = [None, True, False, 0, -7, 2**200, -(10**4299), int("9" * 4300), 1.5, -0.0, 0.1, 5e-324, float("inf"),
         float("-inf"), float("nan"), struct.unpack(">d", bytes.fromhex("fff8000000000123"))[0],
         1 + 2j, complex(float("nan"), -0.0), "", "héllo \x00 \ud800 \n", b"\x00\xff", bytearray(b"ab"),
         [], [1, [2.0, [None]]], (), (1, ("a", (2.5,))), {1, "a", (2, 3)}, frozenset({1.5}),
         {"a": 1, 2: [3], 2.5: None, None: (), True: "t", (1, "x"): {"nested": {}}},
         fractions.Fraction(-3, 7), fractions.Fraction(10**50, 3)]


@pytest.mark.parametrize("value", PLAIN, ids=lambda v: type(v).__name__)
def test_plain_values_come_back_exactly(value):
    assert_same(there_and_back(value), value)


ARRAYS = [np.arange(6.0).reshape(2, 3), np.array(3.5), np.array(7, dtype=np.int8), np.zeros((0, 3)),
          np.array([True, False]), np.arange(12, dtype=np.uint16).reshape(3, 4),
          np.asfortranarray(np.arange(12.0, dtype=np.float32).reshape(3, 4)),
          np.arange(20.0)[::3], np.arange(24).reshape(2, 3, 4).transpose(2, 0, 1),
          np.array([1.5, -2.0], dtype=">f8"), np.array([1, 2], dtype="<i8"),
          np.array([np.nan, -0.0, np.inf], dtype=np.float16), np.array([1.1], dtype=np.longdouble),
          np.array([1 + 2j], dtype=np.complex64), np.array([1j], dtype=np.clongdouble),
          np.frombuffer(bytes.fromhex("7ff0000000000001fff8000000000abc"), dtype="<f8").copy()]


@pytest.mark.parametrize("array", ARRAYS, ids=lambda a: f"{a.dtype.str}{a.shape}")
def test_arrays_keep_dtype_shape_order_and_bits(array):
    got = there_and_back(array)
    assert_same_array(got, np.ascontiguousarray(array) if not array.flags.f_contiguous else array)
    assert np.array_equal(got, array, equal_nan=array.dtype.kind in "fc")


@pytest.mark.parametrize("char", wire.SCALAR_CHARS)
def test_numpy_scalars_keep_their_exact_type(char):
    scalar = np.dtype(char).type(1)
    got = there_and_back(scalar)
    assert type(got) is type(scalar) and got.tobytes() == scalar.tobytes()


def test_numpy_scalars_keep_their_bits():
    for value in (np.float64(0.1), np.float32(-0.0), np.float64("nan"), np.int64(-(2**63)), np.uint64(2**64 - 1)):
        assert_same(there_and_back(value), value)


def test_types_and_dtypes_travel_by_name():
    for value in (float, int, bool, np.float64, np.int64, np.bool_, np.float32, np.longlong):
        assert there_and_back(value) is value
    for dtype in (np.dtype("<f4"), np.dtype(bool), np.dtype(">i2")):
        got = there_and_back(dtype)
        assert got == dtype and got.str == dtype.str


TENSORS = [torch.arange(6.0).reshape(2, 3), torch.tensor(2.5, dtype=torch.float64), torch.zeros(0, 2),
           torch.tensor([True, False]), torch.arange(5, dtype=torch.int64), torch.tensor([1, 255], dtype=torch.uint8),
           torch.tensor([1.5, -0.0, float("nan")], dtype=torch.float16), torch.tensor([1 + 2j], dtype=torch.complex64),
           torch.tensor([0.1, 3e38], dtype=torch.bfloat16), torch.arange(12.0).reshape(3, 4).t()]


@pytest.mark.parametrize("tensor", TENSORS, ids=lambda t: f"{t.dtype}{tuple(t.shape)}")
def test_tensors_keep_dtype_shape_and_bits(tensor):
    got = there_and_back(tensor)
    assert type(got) is torch.Tensor and got.dtype == tensor.dtype and got.shape == tensor.shape
    bits = {torch.bfloat16: torch.int16, torch.float16: torch.int16}.get(tensor.dtype)
    if bits is not None:
        assert torch.equal(got.view(bits), tensor.view(bits))
    else:
        assert torch.equal(got, tensor) or torch.allclose(got, tensor, equal_nan=True)


def test_tensors_keep_requires_grad_their_grad_and_parameterness():
    leaf = torch.tensor([1.0, 2.0], requires_grad=True)
    (leaf * leaf).sum().backward()
    got = there_and_back(leaf)
    assert type(got) is torch.Tensor and got.requires_grad and got.is_leaf
    assert torch.equal(got.grad, torch.tensor([2.0, 4.0]))
    parameter = torch.nn.Parameter(torch.ones(2, 2), requires_grad=False)
    got = there_and_back(parameter)
    assert type(got) is torch.nn.Parameter and not got.requires_grad and got.grad is None
    computed = leaf * 3  # not a leaf: its values travel, its graph does not
    got = there_and_back(computed)
    assert got.requires_grad and got.is_leaf and torch.equal(got, computed.detach())


def test_torch_dtypes_and_sizes():
    for dtype in (torch.float32, torch.int64, torch.bool, torch.bfloat16, torch.complex128):
        assert there_and_back(dtype) is dtype
    size = there_and_back(torch.Size([2, 3]))
    assert type(size) is torch.Size and size == (2, 3)


def test_a_mixture_comes_back_exactly():
    value = {"x": [np.float64(2.0), np.arange(3), (1, {"deep": [fractions.Fraction(1, 3)]})], "n": None}
    assert_same(there_and_back(value), value)


# ---------------------------------------------------------------------------------------------
# sympy

x, z = sp.Symbol("x", real=True), sp.Symbol("z")
beta = sp.Symbol("beta", positive=True)
EXPRESSIONS = [
    sp.exp(-z) / (1 + sp.exp(-z)) ** 2, 2 * z * x, x**2 + 3 * x + 1 - z, -x, sp.Integer(-5), sp.Rational(-3, 7),
    sp.S.Half, sp.Float("0.1"), sp.Float("1.5", 30), sp.pi, sp.E, sp.I, sp.oo, -sp.oo, sp.zoo, sp.nan,
    sp.Piecewise((0, x < 0), (1, True)), sp.Piecewise((x, x >= 0), (sp.Symbol("alpha") * (sp.exp(x) - 1), True)),
    sp.log(1 + sp.exp(beta * x)) / beta, sp.diff(sp.log(1 / (1 + sp.exp(-x))), x),
    sp.Derivative(sp.exp(x) * x, x), sp.Subs(sp.exp(x), x, 0), sp.Limit(sp.exp(x), x, 0),
    sp.Abs(x) + sp.sign(x) + sp.Heaviside(x), sp.Max(x, 0), sp.Min(x, 1), sp.sqrt(x), x ** sp.Rational(1, 3),
    sp.Interval(0, 1, True), sp.true, sp.false, sp.Eq(x, 1), sp.Ne(x, 2), sp.And(x < 1, x > 0), sp.Or(x < 1, z > 0),
    sp.sin(x) * sp.cos(x) + sp.tanh(x) + sp.atan(x) + sp.floor(x) + sp.erf(x), sp.Tuple(x, 1),
    (sp.Rational(1, 2) - sp.Symbol("s") ** 2) * (1 - 2 * sp.Symbol("s")), sp.Integer(10) ** 4000,
    sp.Symbol("n", integer=True, positive=True), sp.Symbol("weird name's \"quote\""),
]


@pytest.mark.parametrize("expression", EXPRESSIONS, ids=str)
def test_sympy_expressions_come_back_as_the_same_tree(expression):
    got = there_and_back(expression)
    assert type(got) is type(expression) and got == expression and sp.srepr(got) == sp.srepr(expression)
    assert got.free_symbols == expression.free_symbols


def test_a_dummy_comes_back_equal_to_itself():
    dummy = sp.Dummy("d", positive=True)
    assert there_and_back(dummy) == dummy


def test_sympy_srepr_text_itself_is_read():
    for expression in EXPRESSIONS:  # srepr orders the terms of a sum for printing: equal values
        got = wire.loads(json.dumps({"sympy": sp.srepr(expression)}))
        assert got.free_symbols == expression.free_symbols
        assert got == expression or not isinstance(got, sp.Expr) or sp.simplify(got - expression) == 0


def test_sympy_classes_off_the_list_travel_as_opaque():
    class Evil(sp.Expr):
        def __eq__(self, other):
            return True

        __hash__ = sp.Expr.__hash__

    class Sly(sp.Symbol):
        pass

    for value in (Evil(x), Sly("x") + 1, sp.Function("f")(x), sp.Matrix([1, 2])):
        got = there_and_back(value)
        assert type(got) is wire.Opaque, value
    assert "Evil" in there_and_back(Evil(x)).type_name


HOSTILE_SREPR = [
    "__import__('os').system('echo owned')", "Symbol('x').__class__", "exec('1')", "eval('1')",
    "(lambda: 1)()", "Symbol('x')[0]", "Symbol(*['x'])", "Symbol(**{'real': True})", "Add(1, 2)",
    "Symbol('x', real=__import__('os'))", "Symbol('x', cls=Symbol)", "Symbol('x', real=1)",
    "Integer('1')", "Integer(1.5)", "Integer(True)", "Float('1e1000000000')", "Float('0x10')",
    "Float('1', precision=10**9)", "Rational(1, 0)", "sympify('x')", "S.One", "sp.exp(1)",
    "getattr(Symbol('x'), 'subs')", "__builtins__", "Symbol", "x", "1", "'x'", "[Integer(1)]",
    "Integer(1) + Integer(2)", "Pow(Integer(2), 3)", "Function('f')(Symbol('x'))", "Piecewise((Integer(1), true))",
    "Integer(" + "9" * 5000 + ")", "exp(" * 300 + "Integer(1)" + ")" * 300, "Symbol('" + "x" * 1000 + "')",
    "Dummy('d', dummy_index='1')", "Mul(Integer(2), Symbol('x'), evaluate=True)", "Symbol('x', real=-True)",
]


@pytest.mark.parametrize("text", HOSTILE_SREPR, ids=lambda t: t[:40])
def test_malicious_sympy_text_is_refused(text):
    with pytest.raises(wire.WireError):
        wire.loads(json.dumps({"sympy": text}))


def test_a_huge_power_is_built_unevaluated_at_once():
    started = time.perf_counter()
    got = wire.loads(json.dumps({"sympy": "Mul(Integer(2), Pow(Integer(10), Integer(1000000000)))"}))
    assert time.perf_counter() - started < 5  # evaluated, 10**10**9 would take minutes
    assert type(got) is sp.Mul and got.args[1].exp == 10**9


# ---------------------------------------------------------------------------------------------
# subclasses and other objects


def test_subclasses_of_builtins_come_back_as_the_plain_builtin():
    class Sly(str):
        def __eq__(self, other):
            return True

        __hash__ = str.__hash__

        def __str__(self):
            return "lie"

    class Big(int):
        def __eq__(self, other):
            return True

        __hash__ = int.__hash__

        def __int__(self):
            return 0

    class Liar(float):
        def __eq__(self, other):
            return True

        __hash__ = float.__hash__

        def __float__(self):
            return 0.0

    got = there_and_back([Sly("text"), Big(42), Liar(2.5), collections.OrderedDict(a=1), collections.namedtuple("P", "a b")(1, 2)])
    assert_same(got, ["text", 42, 2.5, {"a": 1}, (1, 2)])


def test_an_ndarray_subclass_comes_back_as_a_plain_ndarray():
    class Sneaky(np.ndarray):
        def __eq__(self, other):
            return True

    got = there_and_back(np.arange(4.0).view(Sneaky))
    assert type(got) is np.ndarray and got.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert type(there_and_back(np.ma.masked_array([1.0, 2.0], mask=[False, True]))) is np.ndarray


def test_other_objects_travel_as_opaque_names():
    class Thing:
        pass

    got = there_and_back([Thing(), np.array(["a", "b"]), np.array([object()]), lambda v: v, torch.device("cpu")])
    assert all(type(item) is wire.Opaque for item in got)
    assert got[0].type_name.endswith("Thing") and got[1].type_name == "numpy.ndarray"
    assert got[3].type_name == "function" and "Thing" in repr(got[0])


def test_functions_travel_as_callbacks():
    def f(v):
        return v

    callables = {}
    text = wire.dumps([f, lambda v: v, f, np.exp, len, [].append], callables)
    assert json.loads(text)[0] == {"callback": 0} and json.loads(text)[2] == {"callback": 0}
    assert callables[0] is f and len(callables) == 5
    got = wire.loads(text, callback=lambda number: ("stand-in", number))
    assert got == [("stand-in", 0), ("stand-in", 1), ("stand-in", 0), ("stand-in", 2), ("stand-in", 3), ("stand-in", 4)]
    wire.dumps([print], callables)
    assert callables[5] is print  # numbers go on where the dict left off
    with pytest.raises(wire.WireError, match="callback"):
        wire.loads(text)


# ---------------------------------------------------------------------------------------------
# torch.nn


def test_standard_layers_are_rebuilt_with_their_tensors_grads_and_flags():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1, bias=False), torch.nn.ReLU(), torch.nn.Flatten(),
                              torch.nn.Linear(2 * 4 * 4, 5), torch.nn.BatchNorm1d(5), torch.nn.Sigmoid(),
                              torch.nn.Sequential(torch.nn.Linear(5, 3), torch.nn.Dropout(0.25)))
    net(torch.randn(6, 1, 4, 4)).sum().backward()
    net[6].eval()
    got = there_and_back(net)
    assert [type(m) for m in got.modules()] == [type(m) for m in net.modules()]
    assert [m.training for m in got.modules()] == [m.training for m in net.modules()]
    assert got[0].bias is None and got[0].padding == (1, 1) and got[6][1].p == 0.25
    for (name, mine), (_, theirs) in zip(got.named_parameters(), net.named_parameters()):
        assert type(mine) is torch.nn.Parameter and torch.equal(mine, theirs) and torch.equal(mine.grad, theirs.grad), name
    assert all(torch.equal(a, b) for a, b in zip(got.buffers(), net.buffers()))
    assert torch.equal(got(torch.ones(2, 1, 4, 4)), net(torch.ones(2, 1, 4, 4)))


def test_a_students_own_module_travels_as_opaque():
    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(2, 2)

    assert type(there_and_back(Block())) is wire.Opaque
    assert type(there_and_back(torch.nn.Sequential(torch.nn.ReLU(), Block()))) is wire.Opaque
    subclass = type("Linear", (torch.nn.Linear,), {})  # named like a layer: still not one
    assert type(there_and_back(subclass(2, 2))) is wire.Opaque


def module_text(description):
    return json.dumps({"module": json.loads(wire.dumps(description))})


def test_a_hostile_module_description_is_refused_without_allocating():
    linear = torch.nn.Linear(2, 3)
    fine = {"type": "Linear", "init": {"in_features": 2, "out_features": 3, "bias": True}, "training": True,
            "parameters": dict(linear.named_parameters()), "buffers": {}, "children": []}
    assert type(wire.loads(module_text(fine))) is torch.nn.Linear
    huge = {**fine, "init": {"in_features": 10**9, "out_features": 10**9, "bias": True}}
    for description in (huge, {**fine, "type": "Module"}, {**fine, "type": "Bilinear"},
                        {**fine, "init": {**fine["init"], "device": "cpu"}},
                        {**fine, "parameters": {"weight": linear.weight}},
                        {**fine, "parameters": {"weight": linear.weight, "bias": torch.zeros(3)}},
                        {**fine, "children": [["x", torch.nn.ReLU()]]}, {**fine, "training": 1}):
        started = time.perf_counter()
        with pytest.raises(wire.WireError):
            wire.loads(module_text(description))
        assert time.perf_counter() - started < 5


# ---------------------------------------------------------------------------------------------
# matplotlib


def activations_figure():
    """Like sheet 01's plot_activations: two subplots, legends, limits, a caption."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    xs = np.linspace(-3, 3, 61)
    left.plot(xs, 1 / (1 + np.exp(-xs)), label="sigmoid", color="C1")
    left.plot(xs, np.maximum(0, xs), "--o", label="ReLU", linewidth=2.5)
    right.plot([1, 2, 3], [0.5, 0.25, 0.125], ":", label="_hidden")
    right.scatter([0.0, 1.0], [2.0, -1.0], label="points")
    for ax, title in ((left, "activations"), (right, "derivatives")):
        ax.set(xlim=(-3, 3), ylim=(-3, 3), title=title, xlabel="x", ylabel="f(x)")
        ax.legend()
    right.set_yscale("symlog")
    right.set_title("a long left title " * 40, loc="left")
    right.text(0.5, 0.5, "in axes", transform=right.transAxes)
    left.text(1.0, 2.0, "at data")
    fig.suptitle("a test")
    dlcourse.caption(fig, "Figure 1: the caption.")
    fig.add_axes((0.1, 0.8, 0.2, 0.1)).set_xscale("log")  # an axes of no subplot
    return fig


def test_a_figure_comes_back_as_a_real_figure_property_by_property():
    fig = activations_figure()
    got = there_and_back(fig)
    assert isinstance(got, matplotlib.figure.Figure) and isinstance(got, plt.Figure) and got is not fig
    assert plt.fignum_exists(got.number) and tuple(got.get_size_inches()) == tuple(fig.get_size_inches())
    assert len(got.axes) == len(fig.axes) == 3
    for mine, theirs in zip(got.axes, fig.axes):
        assert [mine.get_title(loc) for loc in ("left", "center", "right")] == \
            [theirs.get_title(loc) for loc in ("left", "center", "right")]
        assert (mine.get_xlabel(), mine.get_ylabel()) == (theirs.get_xlabel(), theirs.get_ylabel())
        assert mine.get_xlim() == theirs.get_xlim() and mine.get_ylim() == theirs.get_ylim()
        assert (mine.get_xscale(), mine.get_yscale()) == (theirs.get_xscale(), theirs.get_yscale())
        assert np.allclose(mine.get_position().bounds, theirs.get_position().bounds)
        assert (mine.get_legend() is None) == (theirs.get_legend() is None)
        if theirs.get_legend() is not None:
            assert [t.get_text() for t in mine.get_legend().get_texts()] == [t.get_text() for t in theirs.get_legend().get_texts()]
        assert len(mine.get_lines()) == len(theirs.get_lines())
        for a, b in zip(mine.get_lines(), theirs.get_lines()):
            assert np.array_equal(a.get_xdata(), np.asarray(b.get_xdata(), float))
            assert np.array_equal(a.get_ydata(), np.asarray(b.get_ydata(), float))
            assert (a.get_label(), a.get_linestyle(), a.get_marker(), a.get_linewidth()) == \
                (b.get_label(), b.get_linestyle(), b.get_marker(), b.get_linewidth())
            assert matplotlib.colors.to_hex(a.get_color()) == matplotlib.colors.to_hex(b.get_color())
        assert [(c.get_label(), c.get_offsets().tolist()) for c in mine.collections] == \
            [(c.get_label(), c.get_offsets().tolist()) for c in theirs.collections]
        assert [(t.get_text(), t.get_position()) for t in mine.texts] == [(t.get_text(), t.get_position()) for t in theirs.texts]
    assert [t.get_text() for t in got.texts] == [t.get_text() for t in fig.texts]
    assert got._suptitle.get_text() == "a test" and any(t.get_text() for t in got.texts)
    assert got.axes[0].get_subplotspec().get_geometry() == (1, 2, 0, 0)
    assert list(got.axes[1].get_lines()[0].get_xdata()) == [1, 2, 3]
    got.savefig(io.BytesIO(), format="png")  # it draws
    plt.close("all")
    assert not plt.get_fignums()


def test_what_the_sheets_figure_tests_read_survives():
    """The figure tests of sheets 01, 02 and 04 read these (and plt.close the figure)."""
    fig, axes = plt.subplots(1, 3)
    epochs = [1, 2, 3, 4]
    for k, ax in enumerate(axes):
        ax.plot(epochs, 10.0 ** -np.arange(4.0), label=f"layer {k + 1}")
        ax.set(title="t", xlabel="epoch", ylabel="norm", yscale="log")
        ax.legend()
    fig.suptitle("a test")
    got = there_and_back(fig)
    plot_axes = [ax for ax in got.axes if ax.get_lines()]
    assert len(plot_axes) == 3 and all(ax.get_yscale() == "log" for ax in plot_axes)
    lines = {line.get_label(): line for ax in plot_axes for line in ax.get_lines()}
    assert sorted(lines) == ["layer 1", "layer 2", "layer 3"]
    assert list(lines["layer 2"].get_xdata()) == epochs
    assert np.allclose(lines["layer 3"].get_ydata(), 10.0 ** -np.arange(4.0))
    assert "a test" in (got._suptitle.get_text() if got._suptitle else "")
    plt.close(got)
    plt.close(fig)


def test_a_hostile_figure_is_refused_and_closed():
    fig = activations_figure()
    text = wire.dumps(fig)
    plt.close("all")
    for old, new in (('"linear"', '"function"'), ('"--"', '"dashed-ish"'), ('"#', '"red'),
                     ('"suptitle"', '"savefig"'), ("[9.0,3.5]", "[9000.0,3.5]")):
        assert old in text
        with pytest.raises(wire.WireError):
            wire.loads(text.replace(old, new, 1))
        assert not plt.get_fignums()


# ---------------------------------------------------------------------------------------------
# hostile text


def npy_text(array, allow_pickle=False):
    stream = io.BytesIO()
    np.save(stream, array, allow_pickle=allow_pickle)
    return base64.b64encode(stream.getvalue()).decode()


def npy_with_header(header, data=b""):
    header = header.encode("latin1")
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    raw = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + data
    return base64.b64encode(raw).decode()


HOSTILE_ARRAYS = {
    "object dtype": npy_text(np.array([1, "a"], dtype=object), allow_pickle=True),
    "pickled object": npy_text(np.array([{"a": 1}], dtype=object), allow_pickle=True),
    "strings": npy_text(np.array(["a"])),
    "structured": npy_text(np.zeros(2, dtype=[("a", "<f8"), ("b", "<i4")])),
    "datetimes": npy_text(np.array(["2020-01-01"], dtype="datetime64[D]")),
    "a huge shape": npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (10000000000000,), }"),
    "too few bytes": npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", b"\x00" * 16),
    "too many bytes": npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", b"\x00" * 16),
    "a negative dimension": npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }"),
    "code in the header": npy_with_header("__import__('os').system('echo owned')"),
    "a subarray dtype": npy_with_header("{'descr': ('<f8', (2,)), 'fortran_order': False, 'shape': (1,), }", b"\x00" * 16),
    "not npy": base64.b64encode(b"\x80\x04K\x01.").decode(),
    "not base64": "!!!!",
}


@pytest.mark.parametrize("name", HOSTILE_ARRAYS)
def test_hostile_arrays_are_refused(name):
    for form in ({"ndarray": HOSTILE_ARRAYS[name]},
                 {"tensor": HOSTILE_ARRAYS[name], "dtype": "float64", "requires_grad": False, "parameter": False, "grad": None}):
        with pytest.raises(wire.WireError):
            wire.loads(json.dumps(form))


ONE = npy_text(np.ones(1))


def tensor_form(**fields):
    return json.dumps({"tensor": ONE, "dtype": "float64", "requires_grad": False, "parameter": False,
                       "grad": None, **fields})


def test_booleans_are_only_true_or_false():
    raw = np.frombuffer(bytes([0, 1, 2, 255]), dtype=np.bool_)  # bytes no boolean operation makes
    got = wire.loads(json.dumps({"ndarray": npy_text(raw)}))
    assert got.view(np.uint8).tolist() == [0, 1, 1, 1] and got.dtype == np.bool_
    got = wire.loads('{"numpy": "?", "bits": "02"}')
    assert type(got) is np.bool_ and np.asarray(got).view(np.uint8) == 1


MALFORMED = [
    "", "{", "nan", "NaN", "[Infinity]", '{"tuple": [1], "extra": 2}', '{"unknown": 1}', '{"tuple": 1}',
    '{"dict": [[1]]}', '{"dict": [[[1, 2], 3]]}', '{"set": [[1]]}', json.dumps({"dict": [[{"ndarray": ONE}, 1]]}),
    '{"float": "nan"}', '{"float": "7ff800000000000"}', '{"complex": [1, 2]}', '{"fraction": [1, 0]}',
    '{"fraction": [1.5, 2]}', '{"numpy": "O", "bits": ""}', '{"numpy": "d", "bits": "00"}', '{"dtype": "O"}',
    '{"dtype": "<U3"}', '{"type": "os.system"}', '{"type": "object"}', '{"object": 3}', '{"callback": -1}',
    '{"callback": true}', '{"torch_dtype": "Tensor"}', '{"torch_size": [-1]}', '{"bytes": "a"}',
    tensor_form(dtype="float32"), tensor_form(tensor=npy_text(np.ones(1, np.int64)), dtype="int64", requires_grad=True),
    tensor_form(requires_grad=1), tensor_form(grad={"ndarray": ONE}), tensor_form(grad=json.loads(tensor_form(parameter=True))),
    '{"module": {"dict": []}}', '{"figure": 1}', '{"sympy": 1}', "1" * 5000, '"\\ud800', '[1, 2',
]


@pytest.mark.parametrize("text", MALFORMED, ids=lambda t: t[:40])
def test_malformed_text_raises_wire_error(text):
    with pytest.raises(wire.WireError):
        wire.loads(text, callback=lambda number: number)


def test_limits_are_enforced():
    with pytest.raises(wire.WireError, match="longer"):
        wire.loads(wire.dumps("x" * 100), limit=wire.Limits(chars=50))
    with pytest.raises(wire.WireError, match="nested"):
        wire.loads("[" * 100_000 + "]" * 100_000)
    nested = []
    for _ in range(70):
        nested = [nested]
    with pytest.raises(wire.WireError, match="deeper"):
        wire.dumps(nested)
    with pytest.raises(wire.WireError, match="deeper"):
        wire.loads(json.dumps(nested))
    with pytest.raises(wire.WireError, match="values"):
        wire.loads(json.dumps(list(range(1000))), limit=wire.Limits(items=500))
    with pytest.raises(wire.WireError, match="elements"):
        wire.loads(wire.dumps([np.zeros(600), np.zeros(600)]), limit=wire.Limits(elements=1000))
    with pytest.raises(wire.WireError, match="digits"):
        wire.loads("1" * 40, limit=wire.Limits(digits=30))
    with pytest.raises(wire.WireError, match="digits"):
        wire.dumps(10**5000)
    with pytest.raises(wire.WireError, match="values"):  # sympy terms count too
        wire.loads(wire.dumps(sum(sp.Symbol(f"x{k}") for k in range(100))), limit=wire.Limits(items=50))
    self_holding = []
    self_holding.append(self_holding)
    with pytest.raises(wire.WireError):
        wire.dumps(self_holding)


def test_random_damage_gives_a_value_or_a_wire_error():
    value = [1.5, "text", {"k": np.arange(3.0), (1, 2): fractions.Fraction(1, 3)}, torch.ones(2, requires_grad=True),
             sp.exp(-x) / (1 + sp.Rational(1, 2) * x), (None, True), np.float32(2), torch.nn.Linear(2, 1)]
    text = wire.dumps(value)
    rng = random.Random(0)
    outcomes = collections.Counter()
    for _ in range(400):
        damaged = list(text)
        for _ in range(rng.randint(1, 3)):
            damaged[rng.randrange(len(damaged))] = rng.choice('[]{}",:01-9aeEx.\\ ')
        try:
            wire.loads("".join(damaged))
            outcomes["value"] += 1
        except wire.WireError:
            outcomes["refused"] += 1
    assert outcomes["refused"] > 100, outcomes


def test_nothing_named_by_the_text_is_imported():
    assert "antigravity" not in sys.modules
    assert type(wire.loads('{"object": "antigravity.Thing"}')) is wire.Opaque
    for text in ('{"type": "antigravity"}', '{"sympy": "antigravity()"}', '{"torch_dtype": "antigravity"}',
                 module_text({"type": "antigravity", "init": {}, "training": True, "parameters": {},
                              "buffers": {}, "children": []})):
        with pytest.raises(wire.WireError):
            wire.loads(text)
    assert "antigravity" not in sys.modules


# ---------------------------------------------------------------------------------------------
# exceptions and warnings


class CustomError(Exception):
    pass


class CustomValueError(ValueError):
    pass


def raised(make):
    try:
        make()
    except Exception as error:
        return error


def test_builtin_exceptions_come_back_as_themselves():
    for error in (ValueError("bad value"), KeyError("key"), ZeroDivisionError("division by zero"),
                  AssertionError(), IndexError("index", 3), NotImplementedError("write it"),
                  raised(lambda: 1 / 0), raised(lambda: [][1]), raised(lambda: np.ones(2) @ np.ones(3))):
        got = wire.load_error(wire.dump_error(error))
        assert type(got) is type(error) and str(got) == str(error) and got.args == error.args
        assert got.remote_type == type(error).__name__


def test_other_exceptions_come_back_as_their_nearest_builtin_or_a_student_error():
    torch_error = raised(lambda: torch.ones(2) @ torch.ones(3))
    got = wire.load_error(wire.dump_error(torch_error))
    assert type(got) is RuntimeError and str(got) == str(torch_error)
    got = wire.load_error(wire.dump_error(raised(lambda: torch.linalg.inv(torch.zeros(2, 2)))))
    assert type(got) is RuntimeError and got.remote_type.startswith("torch")
    got = wire.load_error(wire.dump_error(CustomValueError("unknown activation")))
    assert type(got) is ValueError and str(got) == "unknown activation" and got.remote_type.endswith("CustomValueError")
    got = wire.load_error(wire.dump_error(raised(lambda: _raise(CustomError("mine")))))
    assert type(got) is wire.StudentError and "CustomError" in str(got) and "mine" in str(got)
    assert "_raise" in got.remote_traceback


def _raise(error):
    raise error


def test_hostile_error_texts():
    for name, bases in (("KeyboardInterrupt", ["BaseException"]), ("SystemExit", ["BaseException"]),
                        ("x", ["GeneratorExit", "StopIteration"]), ("os.system", [])):
        got = wire.load_error(json.dumps({"type": name, "bases": bases, "args": ["a"], "message": "m", "traceback": ""}))
        assert type(got) is wire.StudentError
    for text in ("{}", "[]", '{"type": 1, "bases": [], "args": [], "message": "", "traceback": ""}',
                 '{"type": "ValueError", "bases": [], "args": [[1]], "message": "", "traceback": ""}',
                 '{"type": "ValueError", "bases": 5, "args": [], "message": "", "traceback": ""}'):
        with pytest.raises(wire.WireError):
            wire.load_error(text)


def test_an_unprintable_exception_still_travels():
    class Unprintable(Exception):
        def __str__(self):
            raise RuntimeError("no")

    got = wire.load_error(wire.dump_error(Unprintable()))
    assert type(got) is wire.StudentError and "unprintable" in str(got)


def test_warnings_come_back_with_a_builtin_category():
    class Mine(RuntimeWarning):
        pass

    class Own(Warning):
        pass

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        np.exp(np.array([1000.0]))
        warnings.warn("deprecated", DeprecationWarning, stacklevel=1)
        warnings.warn("mine", Mine, stacklevel=1)
        warnings.warn("own", Own, stacklevel=1)
        warnings.warn("complex", np.exceptions.ComplexWarning, stacklevel=1)
    got = wire.load_warnings(wire.dump_warnings(caught))
    assert got == [(RuntimeWarning, "overflow encountered in exp"), (DeprecationWarning, "deprecated"),
                   (RuntimeWarning, "mine"), (UserWarning, "own"), (RuntimeWarning, "complex")]
    hostile = [{"category": "KeyboardInterrupt", "bases": ["BaseException"], "message": "m"}]
    assert wire.load_warnings(json.dumps(hostile)) == [(UserWarning, "m")]
    with pytest.raises(wire.WireError):
        wire.load_warnings('[{"category": "UserWarning"}]')


# ---------------------------------------------------------------------------------------------
# the kernel's copy, and speed


def test_the_module_source_works_when_executed_in_a_fresh_namespace():
    namespace = {}
    exec(compile(Path(wire.__file__).read_text(), "wire", "exec"), namespace)
    value = [np.arange(3.0), torch.ones(2), sp.exp(x), {"a": (1, 2.5)}, float("nan")]
    text = namespace["dumps"](value)
    assert text == wire.dumps(value)
    assert_same(namespace["loads"](text)[3], value[3])
    with pytest.raises(namespace["WireError"]):
        namespace["loads"]('{"sympy": "__import__(\'os\')"}')
    error = namespace["load_error"](namespace["dump_error"](ValueError("v")))
    assert type(error) is ValueError


def test_a_large_array_travels_in_milliseconds():
    array = np.random.default_rng(0).normal(size=(1000, 1000))
    started = time.perf_counter()
    text = wire.dumps(array)
    encoded = time.perf_counter()
    got = wire.loads(text)
    decoded = time.perf_counter()
    assert np.array_equal(got, array)
    print(f"\nwire: 1000x1000 float64 ({len(text) / 1e6:.1f} MB of text): dumps {1000 * (encoded - started):.1f} ms,"
          f" loads {1000 * (decoded - encoded):.1f} ms")
    assert not math.isnan(decoded)


# ---------------------------------------------------------------------------------------------
# Objects: what crossed during a test cell stays one object on each side


def model_and_optimizer(kind=torch.optim.Adam):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3), torch.nn.Sigmoid(), torch.nn.Linear(3, 2))
    optimizer = kind(model.parameters(), lr=0.01)
    model(torch.randn(5, 1, 2, 2)).sum().backward()
    optimizer.step()
    return model, optimizer


@pytest.mark.parametrize("kind", [torch.optim.SGD, torch.optim.Adam])
def test_a_model_and_its_optimizer_cross_and_come_back_as_the_tests_own_objects(kind):
    model, optimizer = model_and_optimizer(kind)
    tester, kernel = wire.Objects(0), wire.Objects(1)
    theirs, their_optimizer = wire.loads(wire.dumps([model, optimizer], objects=tester), objects=kernel)
    assert [p is q for p, q in zip(theirs.parameters(), their_optimizer.param_groups[0]["params"])] == [True] * 4
    assert type(their_optimizer) is kind and their_optimizer.param_groups[0]["lr"] == 0.01
    assert len(their_optimizer.state) == len(optimizer.state)
    theirs(torch.randn(5, 1, 2, 2)).sum().backward()  # the student trains on in the kernel
    their_optimizer.step()
    theirs[3] = torch.nn.Linear(3, 2)  # and replaces a layer
    back = wire.loads(wire.dumps([theirs, their_optimizer, theirs[1].weight], objects=kernel), objects=tester)
    assert back[0] is model and back[1] is optimizer and back[2] is model[1].weight
    assert torch.equal(model[1].weight, theirs[1].weight) and torch.equal(model[1].weight.grad, theirs[1].weight.grad)
    assert torch.equal(model[3].weight, theirs[3].weight) and model[3].weight is not theirs[3].weight
    if kind is torch.optim.Adam:  # the moments of the kernel's steps
        pairs = list(zip(optimizer.param_groups[0]["params"], their_optimizer.param_groups[0]["params"]))
        assert all(torch.equal(optimizer.state[p]["exp_avg"], their_optimizer.state[q]["exp_avg"]) for p, q in pairs)


def test_without_objects_an_optimizer_is_opaque_and_tensors_carry_no_keys():
    model, optimizer = model_and_optimizer()
    assert isinstance(there_and_back(optimizer), wire.Opaque)
    assert "key" not in wire.dumps(model[1].weight)


@pytest.mark.parametrize("text, objects", [
    ('{"ref": 0, "value": {"object": "x"}}', lambda: wire.Objects(1)),  # a reference to nothing that crossed
    ('{"key": 1, "value": {"tensor": "", "dtype": "float32", "requires_grad": false, "parameter": false, "grad": null}}',
     lambda: wire.Objects(1)),  # a key of this side's own numbering
    ('{"key": 0, "value": 3}', lambda: wire.Objects(1)),  # a key for a plain value
    ('{"key": 0, "value": {"object": "x"}}', lambda: None),  # keys without objects
    ('{"optimizer": {"dict": [["type", "LBFGS"], ["groups", []], ["state", []]]}}', lambda: wire.Objects(1)),
    ('{"optimizer": {"dict": [["type", "SGD"], ["groups", [{"dict": [["params", []], ["options", {"dict": [["lr", [1]]]}]]}]], '
     '["state", []]]}}', lambda: wire.Objects(1)),  # an option that is not a plain value
    ('{"optimizer": {"dict": [["type", "SGD"], ["groups", []], ["state", [[1, {"dict": []}]]]]}}', lambda: wire.Objects(1)),
])
def test_hostile_keys_references_and_optimizers_are_refused(text, objects):
    with pytest.raises(wire.WireError):
        wire.loads(text, objects=objects())


def test_a_reference_with_a_value_of_another_type_is_refused():
    tester, kernel = wire.Objects(0), wire.Objects(1)
    wire.loads(wire.dumps(torch.zeros(3), objects=tester), objects=kernel)
    forged = json.dumps({"ref": 0, "value": json.loads(wire.dumps(torch.nn.Linear(2, 2)))})
    with pytest.raises(wire.WireError):
        wire.loads(forged, objects=kernel)


def test_the_random_generators_cross_and_a_state_that_does_not_fit_is_left_out():
    from coursegrade import serve

    torch.manual_seed(3)
    np.random.seed(4)
    random.seed(5)
    state = wire.loads(wire.dumps(serve.random_state()))
    drawn = (torch.rand(3), np.random.rand(3), random.random())
    serve.set_random_state(state)
    again = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(drawn[0], again[0]) and np.array_equal(drawn[1], again[1]) and drawn[2] == again[2]
    serve.set_random_state([torch.zeros(3, dtype=torch.uint8), ("MT19937", np.zeros(2)), "nonsense"])
    assert torch.equal(torch.rand(1), torch.rand(1)) is False  # the generators still work


def walk(node, names, depth=0):  # the walk of sheet 03's B.3: (depth, label), depth first
    label = names[id(node.variable)] if hasattr(node, "variable") else type(node).__name__
    found = [(depth, label)]
    for child, _ in node.next_functions:
        if child is not None:
            found += walk(child, names, depth + 1)
    return found


def test_autograd_graphs_cross_with_their_steps_and_leaves_both_ways():
    tester, kernel = wire.Objects(0), wire.Objects(1)
    u, v = torch.tensor(2.0, requires_grad=True), torch.tensor([1.0, 3.0], requires_grad=True)
    small, out = (u * v).sum() + u, torch.tanh(u * v).sum() * torch.exp(u) + 2.0 * v[0]
    names = {id(u): "u", id(v): "v"}  # ids of this side's tensors: the other side's ids of its copies
    their_small, their_out, their_names = wire.loads(wire.dumps([small, out, names], objects=tester), objects=kernel)
    assert walk(their_small.grad_fn, their_names) == walk(small.grad_fn, names)
    assert walk(their_out.grad_fn, their_names) == walk(out.grad_fn, names) and torch.equal(their_out, out)
    W = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)
    b, w = torch.tensor(0.3, dtype=torch.float64, requires_grad=True), torch.randn(2, dtype=torch.float64, requires_grad=True)
    loss = 0.5 * (torch.sigmoid(w @ torch.sigmoid(W.T @ torch.tensor([1.0, 0.0], dtype=torch.float64) + b) + b) - 1.0) ** 2
    leaves, back = wire.loads(wire.dumps([{"W": W, "b": b, "w": w}, loss], objects=kernel), objects=tester)
    assert walk(back.grad_fn, {id(t): k for k, t in leaves.items()}) == walk(loss.grad_fn, {id(W): "W", id(b): "b", id(w): "w"})
    back.backward()
    assert leaves["W"].grad is not None  # a real graph on the copies of the leaves
    assert wire.loads(wire.dumps(back, objects=tester), objects=kernel) is loss  # and back: the kernel's own


def test_a_differentiable_test_function_runs_as_its_traced_graph():
    curvature = torch.tensor([[1.0, 2.0], [2.0, -3.0]], dtype=torch.float64)
    quadratic = dlcourse.differentiable(lambda t, A=curvature: 0.5 * t @ A @ t)
    theirs = wire.loads(wire.dumps(quadratic, objects=wire.Objects(0)), objects=wire.Objects(1))
    assert theirs is not quadratic and not hasattr(theirs, "__wire_traced__")
    x = torch.tensor([0.3, -0.7], dtype=torch.float64)
    want = torch.autograd.functional.hessian(quadratic, x)
    assert torch.equal(torch.autograd.functional.hessian(theirs, x), want)
    assert torch.equal(torch.func.hessian(theirs)(x), want)  # functorch's transforms work too
    wavy = dlcourse.differentiable(lambda t: torch.exp(t[0]) * torch.cos(t[1]))
    assert torch.equal(wire.loads(wire.dumps(wavy, objects=wire.Objects(0)), objects=wire.Objects(1))(x), wavy(x))
    assert "callback" in wire.dumps(lambda t: t, callables={}, objects=wire.Objects(0))  # unmarked: a call-back


def test_objects_of_the_kernel_travel_as_handles_and_come_back_as_themselves():
    made = []
    tester = wire.Objects(0, handle=lambda key, name, kind: made.append((key, name, kind)) or ("handle", key))
    kernel = wire.Objects(1)
    generator = (n for n in range(3))
    handle = wire.loads(wire.dumps([generator, generator], objects=kernel), objects=tester)
    assert handle == [("handle", 1), ("handle", 1)] and made == [(1, "generator", None)]
    assert wire.loads(wire.dumps(handle[0], objects=tester), objects=kernel) is generator
    assert isinstance(wire.loads(wire.dumps(generator)), wire.Opaque)  # without objects: opaque, as before


class Stand(torch.nn.Module):  # a class of a test, defined on both sides
    def __init__(self, scale):
        super().__init__()
        self.weight = torch.nn.Parameter(scale * torch.ones(2))


def test_an_instance_of_a_class_of_the_test_is_made_again_in_the_kernel():
    tester, kernel = wire.Objects(0), wire.Objects(1)
    for objects in (tester, kernel):
        objects.classes["Stand"] = Stand
    Stand.__wire_class__ = "Stand"
    try:
        mine = Stand(3.0)
        mine.__wire_args__ = ((3.0,), {})
        with torch.no_grad():
            mine.weight[0] = 7.0
        theirs = wire.loads(wire.dumps(mine, objects=tester), objects=kernel)
        assert type(theirs) is Stand and theirs is not mine and theirs.weight.tolist() == [7.0, 3.0]
        with pytest.raises(wire.WireError):  # the kernel cannot send one to the tester
            wire.loads(wire.dumps(mine, objects=tester), objects=wire.Objects(0, handle=lambda *a: None))
    finally:
        del Stand.__wire_class__


@pytest.mark.parametrize("text", [
    '{"key": 1, "value": {"handle": "x", "class": null}}',  # a handle, sent to the kernel
    '{"traced": [["call", "y", "builtins.eval", ["1"], {"dict": []}]]}',  # a step off the list
    '{"graph": [["EvalBackward0", [], {"dict": []}]], "data": 1}',
    '{"graph": [["ExpBackward0", [1], {"dict": []}]], "data": 1}',  # an input that is no earlier step
    '{"graph": [["MulBackward0", [null, null], {"dict": [["_saved_self", "os"]]}]], "data": 1}',
    '{"id_of": 5}',
])
def test_hostile_handles_traced_functions_and_graphs_are_refused(text):
    with pytest.raises(wire.WireError):
        wire.loads(text, objects=wire.Objects(1))
