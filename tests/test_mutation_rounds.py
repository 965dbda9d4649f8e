"""check_alternatives runs alternatives of different cells together (mutation.rounds), on a
three-function notebook with a one-mistake catalogue: a wrong alternative hidden in a round
is still reported by name, with the message it gets when every alternative runs alone."""

import json

import mutation
import nbformat
import pytest
from mutation import Alternative, Round, check_alternatives, failures, grade_variants, rounds

from coursegrade import diagnosis, probe

SHEET = "99_rounds"
CELLS = {  # grade_id: (source, is a test cell)
    "double": ("def double(x):\n    return 2 * x", False),
    "t_double": ("assert double(2) == 4", True),
    "square": ("def square(x):\n    return x * x", False),
    "t_square": ("assert square(2) == 4", True),
    "cube": ("def cube(x):\n    return x ** 3", False),
    "t_cube": ("assert cube(2) == 8", True),
}
DOUBLE = [Alternative("double as x + x", "double", "2 * x", "x + x"),
          Alternative("double as x * 2", "double", "2 * x", "x * 2")]
SQUARE = [Alternative("square as x * 3", "square", "x * x", "x * 3"),  # wrong: fails t_square
          Alternative("square as x ** 2", "square", "x * x", "x ** 2"),
          Alternative("square as x + x", "square", "x * x", "x + x")]  # passes t_square, a known mistake
CUBE = [Alternative("cube as x * x * x", "cube", "x ** 3", "x * x * x")]
ALTERNATIVES = [DOUBLE[0], SQUARE[0], DOUBLE[1], SQUARE[1], CUBE[0], SQUARE[2]]
REPORT = ("correct alternative 'square as x + x' looks like ['square as twice x']\n"
          "correct alternative 'square as x * 3' fails ['t_square']")


def _cell(grade_id, source, test):
    meta = {"grade_id": grade_id, "grade": test, "solution": not test, "locked": test}
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {**meta, **({"points": 1} if test else {})}})


def _behaviour(function):
    calls = json.dumps([probe.encode_call([3], {})])
    return json.loads(probe.run({"square": function}, "square", calls))


@pytest.fixture
def sheet(tmp_path, monkeypatch):
    """The notebook where mutation.notebook looks, and its catalogue: square's one known mistake."""
    path = tmp_path / SHEET / f"{SHEET}.ipynb"
    path.parent.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[_cell(g, s, t) for g, (s, t) in CELLS.items()]), path)
    monkeypatch.setattr(mutation, "notebook", lambda sheet: path)
    functions = {"square": {"cell": "square", "probes": [probe.encode_call([3], {})],
                            "reference": _behaviour(lambda x: x * x)}}
    mistakes = [{"name": "square as twice x", "tasks": ["t_square"], "behaviour": {"square": _behaviour(lambda x: 2 * x)}}]
    monkeypatch.setattr(diagnosis, "load", lambda sheet: {"functions": functions, "mistakes": mistakes})
    return SHEET


@pytest.fixture
def runs(monkeypatch):
    """The variants of each grade_variants call, as lists of alternative names."""
    calls, real = [], mutation.grade_variants

    def spy(sheet, variants, *args):
        calls.append([[a.name for a in mutation._edits(v)] for v in variants])
        return real(sheet, variants, *args)

    monkeypatch.setattr(mutation, "grade_variants", spy)
    return calls


def test_rounds_take_one_alternative_per_cell_in_order():
    assert rounds(ALTERNATIVES) == [Round((DOUBLE[0], SQUARE[0], CUBE[0])), Round((DOUBLE[1], SQUARE[1])),
                                    Round((SQUARE[2],))]
    assert rounds([]) == []


def test_a_round_forks_at_its_first_cell_and_runs_every_edit(sheet):
    wrong = Alternative("double as 3 x", "double", "2 * x", "3 * x")
    baseline, graded = grade_variants(sheet, [Round((wrong, SQUARE[0])), Round((SQUARE[0], CUBE[0]))])
    assert failures(baseline) == set()
    assert [failures(results) for results in graded] == [{"t_double", "t_square"}, {"t_square"}]


def test_each_edit_of_a_round_must_apply_once(sheet):
    missing = Alternative("cube as pow", "cube", "x**3", "pow(x, 3)")
    with pytest.raises(AssertionError, match=r"mutant 'cube as pow': 'x\*\*3' occurs 0 times in cube"):
        grade_variants(sheet, [Round((DOUBLE[0], missing))])
    with pytest.raises(AssertionError, match="changes a cell twice"):
        grade_variants(sheet, [Round((DOUBLE[0], DOUBLE[1]))])


def test_a_wrong_alternative_in_a_round_is_reported_by_name(sheet, runs):
    with pytest.raises(AssertionError) as raised:
        check_alternatives(sheet, ALTERNATIVES)
    assert str(raised.value).split("\nassert")[0] == REPORT
    assert runs == [[["double as x + x", "square as x * 3", "cube as x * x * x"],  # fails: run alone
                     ["double as x * 2", "square as x ** 2"],  # passes
                     ["square as x + x"]],  # looks like a known mistake: run alone
                    [["double as x + x"], ["square as x * 3"], ["cube as x * x * x"], ["square as x + x"]]]


def test_rounds_report_what_running_each_alone_reports(sheet, monkeypatch):
    def alone(sheet, alternatives, stored, of_rounds):  # check_alternatives without rounds
        return grade_variants(sheet, alternatives, diagnosis.probes(stored))[1]

    monkeypatch.setattr(mutation, "_graded_in_rounds", alone)
    with pytest.raises(AssertionError) as raised:
        check_alternatives(sheet, ALTERNATIVES)
    assert str(raised.value).split("\nassert")[0] == REPORT


def test_correct_alternatives_pass_in_rounds(sheet, runs):
    check_alternatives(sheet, [*DOUBLE, SQUARE[1], *CUBE])
    assert len(runs) == 1
