"""Name the known mistake behind a failed test: the mistake catalogue of a sheet.

The suite's mutation lists (tests/test_mutants_sheet0*.py) hold, for every graded function, the
mistakes students really make, each with a sentence. ``tests/catalogue.py`` turns them into
``coursegrade/mistakes/<sheet>.json``: for every graded function the inputs its *visible* tests
call it with (the probes), what the reference does on them, and what each known mistake does
(probe.py describes a call as plain data: result, exception, changed arguments, warnings).

After grading, the worker calls the student's functions of every failed task on the probes (in
the student's sandboxed kernel, probe.run) and ``diagnose`` compares what they did here, outside
the kernel: the same as one known mistake (or several that behave alike) gives that sentence,
the same as the reference gives "seems right, the failure is elsewhere", anything else gives
nothing. A numpy number and a Python number of the same value agree (tests treat them alike),
except when matching the known mistakes of a function whose task states the Python type of its
result (``"types"`` in the catalogue): there np.int64 for an int, or a 0-d array for a float, is a
mistake of its own. The catalogue never reaches the release notebooks or the feedback (only its sentences do); it is part of the handout, for the same sentences in JupyterLab (dlcourse/mistakes.py).
"""

import json
import math
from pathlib import Path

import numpy as np

FOLDER = Path(__file__).parent / "mistakes"
RTOL, ATOL = 1e-6, 1e-9  # far above rounding differences of correct forms, far below any mistake's effect
# Single-precision arrays (a trained network's weights) round at 6e-8 and drift further over a
# training run: the same code gives results 2e-6 apart on two processors (AVX-512 or not).
RTOL_SINGLE, ATOL_SINGLE = 1e-4, 1e-7


def load(sheet):
    """The sheet's catalogue, or None when it has none."""
    path = FOLDER / f"{sheet}.json"
    return json.loads(path.read_text()) if path.exists() else None


def probes(catalogue):
    """{function: its probes} of a catalogue."""
    return {name: entry["probes"] for name, entry in catalogue["functions"].items()}


def _numbers(values):
    return np.array([float(v) for v in values], dtype=float)  # "nan", "inf" come back as floats


def _kind(dtype):
    return "bool" if dtype[1:2] == "b" else "number"


def _single(*dtypes):
    """Is one of the arrays of half or single precision (numpy dtype strings such as '<f4')?"""
    return any(d[1:] in ("f2", "f4") for d in dtypes)


def _untyped(x):
    """An encoded number without its numpy mark (probe.encode): np.int64(3) as 3."""
    if not (isinstance(x, dict) and "numpy" in x):
        return x
    x = {k: v for k, v in x.items() if k != "numpy"}
    return x["bool"] if "bool" in x else x


def _number(x):
    """The value of an encoded int or float (numpy-marked or not), else None."""
    kinds = x.keys() - {"numpy"}
    return x[kinds.pop()] if kinds in ({"int"}, {"float"}) else None


def same(a, b, values=True, types=False, atol=ATOL):
    """Two encoded values (probe.encode) agree: equal structure and (with values) numbers
    within tolerance; with types, a numpy number (where a test's isinstance tells it from a
    Python one) differs from a Python number."""
    if not types:
        a, b = _untyped(a), _untyped(b)
    if isinstance(a, dict) and isinstance(b, dict):
        if "array" in a and "array" in b:
            rtol, tol = (RTOL_SINGLE, atol and ATOL_SINGLE) if _single(a["dtype"], b["dtype"]) else (RTOL, atol)
            return (a["shape"] == b["shape"] and _kind(a["dtype"]) == _kind(b["dtype"]) and a["whole"] == b["whole"]
                    and (not values or np.allclose(_numbers(a["array"]), _numbers(b["array"]),
                                                   rtol=rtol, atol=tol, equal_nan=True)))
        numbers = [_number(x) for x in (a, b)]
        if all(n is not None for n in numbers):
            x, y = (float(n) for n in numbers)
            return a.get("numpy") == b.get("numpy") and (
                not values or (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=RTOL, abs_tol=atol))
        return a.keys() == b.keys() and all(same(a[k], b[k], values, types, atol) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y, values, types, atol) for x, y in zip(a, b))
    return a == b


def _agree(c, o, values, types):
    """Two call records agree (a probe marked relative is compared without absolute tolerance)."""
    atol = 0.0 if "relative" in (c.get("tolerance"), o.get("tolerance")) else ATOL
    return (c["raised"] == o["raised"] and c["changed"] == o["changed"] and c["warned"] == o["warned"]
            and same(c["out"], o["out"], values, types, atol) and same(c.get("after"), o.get("after"), values, types, atol))


def same_behaviour(calls, others, types=False):
    """Two lists of call records (probe.behaviour, probe.run) agree on every probe. A function
    that answers its first probe differently when asked again (it draws unseeded random numbers
    or keeps state between calls) is compared by structure only, as its numbers do not repeat.
    With types, a numpy number differs from a Python number of the same value."""
    if calls is None or others is None or len(calls) != len(others):
        return False
    repeats = [records[-1].get("repeats_first", True) for records in (calls, others)]
    if repeats[0] != repeats[1]:
        return False
    return all(_agree(c, o, repeats[0], types) for c, o in zip(calls, others))


def functions_of(catalogue, task):
    """The graded functions whose mistakes fail ``task``: what to probe when it fails."""
    return sorted({f for m in catalogue["mistakes"] if task in m["tasks"] for f in m["behaviour"]})


def diagnose(catalogue, task, observed):
    """The sentence for a failed ``task``, given observed = {function: call records} of the
    student's functions on the probes; None when nothing can be said for certain."""
    names = functions_of(catalogue, task)
    if not names or any(observed.get(f) is None for f in names):
        return None
    found = mistakes_found(catalogue, task, observed)
    if len(found) == 1:
        return f"This looks like a known mistake: {found[0]}."
    if found:
        return "This looks like one of these known mistakes: " + "; ".join(found) + "."
    if all(same_behaviour(observed[f], catalogue["functions"][f]["reference"]) for f in names):
        return (f"{', '.join(names)} gave the expected results on the visible test's inputs: the failure is "
                "probably elsewhere (the type or shape of what is returned, a stated property, an input not tried there).")
    return None


def mistakes_found(catalogue, task, observed):
    """The names of the known mistakes the observed behaviour matches (for the class summary)."""
    names = functions_of(catalogue, task)
    if not names or any(observed.get(f) is None for f in names):
        return []
    return list(dict.fromkeys(m["name"] for m in catalogue["mistakes"] if task in m["tasks"]
                              and all(same_behaviour(observed[f], c, typed(catalogue, f)) for f, c in m["behaviour"].items())))


def typed(catalogue, function):
    """Does the function's task state the Python type of its result (a numpy number is a mistake there)?"""
    return catalogue["functions"][function].get("types", False)
