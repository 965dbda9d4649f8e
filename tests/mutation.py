"""Mutation testing of the graded cells: do the tests catch the mistakes students make?

A ``Mutant`` is one plausible wrong implementation, written as a small text edit of a solution
cell. ``check_mutants`` runs the solution notebook once per mutant, in this process and on the
grading budget, executes every test cell (hidden tests included, as nbgrader's autograder does)
and records which test cells fail. Each mutant must

* fail at least one test cell of its own task (the mistake costs points), and
* pass every test cell outside its task (one bug costs one task's points, not more).

The unmutated solution must pass every test cell, so a failure is the mutant's doing.

An ``Alternative`` is the opposite: a *correct* implementation that a careful student writes
differently from the reference (a stable form, PyTorch's own algorithm, a loop instead of a
vectorised expression). ``check_alternatives`` runs each the same way and asserts that it
passes every test cell, visible and hidden: correct work never loses points.
"""

import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbtools import grading_mode, is_test_cell, nbgrader_meta, notebook


@dataclass(frozen=True)
class Mutant:
    name: str  # the mistake in words, e.g. "softmax subtracts the global maximum"
    cell: str  # grade_id of the solution cell that is changed
    old: str  # text that occurs exactly once in that cell
    new: str  # what the student wrote instead
    task: tuple  # grade_ids of the test cells of the mutated function's task


@dataclass(frozen=True)
class Alternative:
    name: str  # the correct variant in words, e.g. "softplus' as (1 + tanh(beta x / 2)) / 2"
    cell: str  # grade_id of the solution cell that is changed
    old: str  # text that occurs exactly once in that cell
    new: str  # the student's correct alternative


def _mutated_cells(nb, mutant):
    cells = []
    for cell in nb.cells:
        source = cell.source
        if mutant is not None and nbgrader_meta(cell).get("grade_id") == mutant.cell:
            count = source.count(mutant.old)
            assert count == 1, f"mutant {mutant.name!r}: {mutant.old!r} occurs {count} times in {mutant.cell}"
            assert mutant.old != mutant.new, f"mutant {mutant.name!r} changes nothing"
            source = source.replace(mutant.old, mutant.new)
        cells.append((cell, source))
    if mutant is not None:
        ids = {nbgrader_meta(cell).get("grade_id") for cell in nb.cells}
        assert mutant.cell in ids, f"mutant {mutant.name!r}: no cell {mutant.cell}"
    return cells


def grade_in_process(sheet, mutant=None):
    """Run the solution notebook (with ``mutant`` applied) and return {test grade_id: passed}.

    Non-test cells that fail are recorded under their cell id with False too, so that a mutant
    which breaks an experiment is visible in the result.
    """
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    path = notebook(sheet)
    nb = nbformat.read(path, as_version=4)
    namespace = {"__name__": "__notebook__"}
    results = {}
    cwd = os.getcwd()
    stdout = sys.stdout
    with grading_mode(True), warnings.catch_warnings(), open(os.devnull, "w") as devnull:
        warnings.simplefilter("ignore")
        os.chdir(Path(path).parent)
        sys.stdout = devnull  # the notebook's prints would flood the test log
        try:
            for cell, source in _mutated_cells(nb, mutant):
                if cell.cell_type != "code":
                    continue
                name = nbgrader_meta(cell).get("grade_id") or cell.get("id")
                try:
                    exec(compile(source, f"{path.name}:{name}", "exec"), namespace)
                    passed = True
                except Exception:  # a failing cell, as in nbgrader: any exception
                    passed = False
                finally:
                    plt.close("all")
                if is_test_cell(cell) or not passed:
                    results[name] = passed
        finally:
            sys.stdout = stdout
            os.chdir(cwd)
    return results


def failures(results):
    return {name for name, passed in results.items() if not passed}


def check_mutants(sheet, mutants):
    """Assert the two rules of the module docstring for every mutant, and that every answer
    cell of the sheet has mutants; report all offenders at once."""
    missing = answer_cells(sheet) - covered_cells(mutants)
    assert not missing, f"no mutants for the answer cells {sorted(missing)}"
    baseline = failures(grade_in_process(sheet))
    assert not baseline, f"the solution of {sheet} itself fails {sorted(baseline)}"
    problems = []
    for mutant in mutants:
        failed = failures(grade_in_process(sheet, mutant))
        if not failed & set(mutant.task):
            problems.append(f"{mutant.name!r} passes every test of its task {mutant.task}")
        outside = failed - set(mutant.task)
        if outside:
            problems.append(f"{mutant.name!r} also fails {sorted(outside)} outside its task")
    assert not problems, "\n".join(problems)


def check_alternatives(sheet, alternatives):
    """Assert that every correct alternative passes every test cell of the sheet."""
    problems = []
    for alternative in alternatives:
        failed = failures(grade_in_process(sheet, alternative))
        if failed:
            problems.append(f"correct alternative {alternative.name!r} fails {sorted(failed)}")
    assert not problems, "\n".join(problems)


def covered_cells(mutants):
    """The solution cells that the mutants change (each graded function needs mutants)."""
    return {mutant.cell for mutant in mutants}


def answer_cells(sheet):
    """grade_ids of the code cells in which students write code (solution cells)."""
    nb = nbformat.read(notebook(sheet), as_version=4)
    return {
        nbgrader_meta(c)["grade_id"] for c in nb.cells
        if c.cell_type == "code" and nbgrader_meta(c).get("solution")
    }
