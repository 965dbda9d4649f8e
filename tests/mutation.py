"""Mutation testing of the graded cells: do the tests catch the mistakes students make?

A ``Mutant`` is one plausible wrong implementation, written as a small text edit of a solution
cell. ``check_mutants`` runs the solution notebook once per mutant, on the grading budget, executes
every test cell (hidden tests included, as nbgrader's autograder does) and records which test
cells fail. The cells before the mutated one run once for all mutants (``grade_variants``
forks a copy of the process per mutant there). Each mutant must

* fail at least one test cell of its own task (the mistake costs points), and
* pass every test cell outside its task (one bug costs one task's points, not more).

The unmutated solution must pass every test cell, so a failure is the mutant's doing.

An ``Alternative`` is the opposite: a *correct* implementation that a careful student writes
differently from the reference (a stable form, PyTorch's own algorithm, a loop instead of a
vectorised expression). ``check_alternatives`` runs each the same way and asserts that it
passes every test cell, visible and hidden: correct work never loses points.

Alternatives of different cells run together: ``rounds`` groups them into ``Round``s (round k
holds the k-th alternative of each cell), and each round runs as one variant with all its edits
(sheet 05's 54 alternatives are 9 runs instead of 54). A round that passes every test cell and
that the catalogue takes for no known mistake clears its alternatives; the alternatives of any
other round run again one by one, exactly as without rounds, so a problem names the alternative
at fault, with the same message. The problems are therefore those of running each alternative
alone, with one theoretical exception: an alternative that fails alone (or behaves like a known
mistake) but passes in its round. Its own cell is the same in both runs and the cells before the
earliest edit are the solution's, so the round can differ only through what the other
alternatives' cells compute (their results, the random numbers they draw): another alternative
would have to cancel its error, two mistakes compensating each other among code that is meant
to be correct, not a way a single wrong alternative stays unreported.
"""

import contextlib
import gc
import json
import os
import select
import signal
import sys
import time
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbtools import grading_mode, is_test_cell, nbgrader_meta, notebook

from coursegrade import diagnosis, probe

BEHAVIOUR = "(the graded functions on the probes)"  # a key of the results, not a cell
CHILD_SECONDS = 600  # a forked run of the rest of one notebook (seconds, far above what any takes)


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


@dataclass(frozen=True)
class Round:
    """Alternatives of different cells, run as one variant with all their edits (see ``rounds``)."""

    alternatives: tuple

    @property
    def name(self):
        return " + ".join(alternative.name for alternative in self.alternatives)


def rounds(alternatives):
    """The alternatives as Rounds, in their order: round k holds the k-th alternative of every
    cell that has more than k, so there are as many rounds as the most alternatives of one cell."""
    grouped, seen = defaultdict(list), Counter()
    for alternative in alternatives:
        grouped[seen[alternative.cell]].append(alternative)
        seen[alternative.cell] += 1
    return [Round(tuple(grouped[k])) for k in range(len(grouped))]


def _edits(variant):
    """The single edits (mutants, alternatives) that a variant makes: none, itself or its round's."""
    if variant is None:
        return ()
    return variant.alternatives if isinstance(variant, Round) else (variant,)


def _mutated_cells(nb, variant):
    """[(cell, source)] of the notebook with the variant's edits made, each in its own cell."""
    edits = {edit.cell: edit for edit in _edits(variant)}
    assert len(edits) == len(_edits(variant)), f"{variant.name!r} changes a cell twice"
    cells = [(cell, _edited(cell.source, edits.get(nbgrader_meta(cell).get("grade_id")))) for cell in nb.cells]
    ids = {nbgrader_meta(cell).get("grade_id") for cell in nb.cells}
    for edit in edits.values():
        assert edit.cell in ids, f"mutant {edit.name!r}: no cell {edit.cell}"
    return cells


def _edited(source, edit):
    """``source`` with ``edit`` made (its text must occur exactly once); unchanged without one."""
    if edit is None:
        return source
    count = source.count(edit.old)
    assert count == 1, f"mutant {edit.name!r}: {edit.old!r} occurs {count} times in {edit.cell}"
    assert edit.old != edit.new, f"mutant {edit.name!r} changes nothing"
    return source.replace(edit.old, edit.new)


def _first_edited(cells, variant):
    """The index of the first of ``cells`` that the variant edits: where its run forks."""
    edited = {edit.cell for edit in _edits(variant)}
    return next(i for i, (cell, _) in enumerate(cells) if nbgrader_meta(cell).get("grade_id") in edited)


@contextlib.contextmanager
def _grading_run(path):
    """The setting every graded run has: grading mode, the notebook's folder, matplotlib's Agg
    backend, warnings and the notebook's prints silenced."""
    import matplotlib

    matplotlib.use("agg")
    cwd = os.getcwd()
    stdout = sys.stdout
    with grading_mode(True), warnings.catch_warnings(), open(os.devnull, "w") as devnull:
        warnings.simplefilter("ignore")
        os.chdir(Path(path).parent)
        sys.stdout = devnull  # the notebook's prints would flood the test log
        try:
            yield
        finally:
            sys.stdout = stdout
            os.chdir(cwd)


def _run_cell(cell, source, namespace, results, path):
    """Execute one cell as nbgrader's autograder would; a test cell (or any cell that fails)
    is recorded in ``results`` as passed or not."""
    import matplotlib.pyplot as plt

    if cell.cell_type != "code":
        return
    name = nbgrader_meta(cell).get("grade_id") or cell.get("id")
    try:
        exec(compile(source, f"{Path(path).name}:{name}", "exec"), namespace)
        passed = True
    except Exception:  # a failing cell, as in nbgrader: any exception
        passed = False
    finally:
        plt.close("all")
    if is_test_cell(cell) or not passed:
        results[name] = passed


def grade_in_process(sheet, mutant=None):
    """Run the solution notebook (with ``mutant`` applied) and return {test grade_id: passed}.

    Non-test cells that fail are recorded under their cell id with False too, so that a mutant
    which breaks an experiment is visible in the result.
    """
    path = notebook(sheet)
    nb = nbformat.read(path, as_version=4)
    namespace = {"__name__": "__notebook__"}
    results = {}
    with _grading_run(path):
        for cell, source in _mutated_cells(nb, mutant):
            _run_cell(cell, source, namespace, results, path)
    return results


def grade_variants(sheet, variants, probes=None, probed=None):
    """``grade_in_process`` for the unchanged solution and for each of ``variants`` (mutants or
    alternatives): (baseline results, [results of each variant]), the same numbers, faster.
    With ``probes`` the graded functions' behaviour on them is recorded too: all of them for the
    solution, and for variant i those named in ``probed[i]`` (default, or None: all).

    The cells before a variant's first changed cell are the solution's own, so they run once:
    the solution runs cell by cell, and where a variant changes the next cell the process forks;
    the child runs the rest of the notebook with the variant's edits (a Round edits several
    cells) on a copy of the state so far and sends its results back through a pipe. Imports and
    early experiments are paid once per sheet instead of once per variant. Without ``os.fork``
    (Windows), and on macOS (whose system libraries are not safe to use in a forked child), each
    variant runs whole.
    """
    if not hasattr(os, "fork") or sys.platform == "darwin":
        assert probes is None, "the behaviour on the probes is recorded only where processes fork"
        return grade_in_process(sheet), [grade_in_process(sheet, v) for v in variants]
    path = notebook(sheet)
    nb = nbformat.read(path, as_version=4)
    plain = _mutated_cells(nb, None)
    where = {}  # cell index -> [(variant number, the cells from there on, with the variant's edits)]
    for number, variant in enumerate(variants):
        changed = _mutated_cells(nb, variant)  # checks that the edits apply
        index = _first_edited(plain, variant)
        where.setdefault(index, []).append((number, changed[index:]))
    results = [None] * len(variants)
    namespace = {"__name__": "__notebook__"}
    baseline = {}
    with _grading_run(path), _one_torch_thread(), _solution_run_once(plain, path):
        for index, (cell, source) in enumerate(plain):
            for number, rest in where.get(index, ()):
                asked = probes if probed is None or probes is None or probed[number] is None else \
                    {name: calls for name, calls in probes.items() if name in probed[number]}
                results[number] = {**baseline, **_in_child(rest, namespace, path, asked)}
            _run_cell(cell, source, namespace, baseline, path)
        if probes is not None:
            baseline[BEHAVIOUR] = behaviours(namespace, probes)
    return baseline, results


@contextlib.contextmanager
def _one_torch_thread():
    """PyTorch's OpenMP (libgomp) hangs in a forked child when the parent ran a parallel region
    on several threads: the child has none of the parent's worker threads. While variants fork,
    torch therefore runs on one thread, and a notebook's own ``torch.set_num_threads`` keeps it
    there (thread counts change the speed, not what a cell computes beyond rounding). Modules
    that torch imports on first use are imported before the children fork."""
    try:
        import torch
        import torch._dynamo  # noqa: F401 (the first optimizer imports it: about 1 s, paid here once, not per child)
    except ImportError:
        yield
        return
    threads, set_threads = torch.get_num_threads(), torch.set_num_threads
    set_threads(1)
    torch.set_num_threads = lambda count: set_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads = set_threads
        set_threads(threads)


@contextlib.contextmanager
def _solution_run_once(cells, path):
    """Run the solution once in this process, in a namespace of its own, before the variants
    fork, so that each child finds done what does not depend on its change:

    * the modules the notebook imports on the way (a test cell that imports sympy.physics);
    * sympy's cache of what it derived and simplified (limits, derivatives of the sheet's
      expressions): a child recomputes only the expressions its change touches;
    * the finished runs of a sheet that trains through dlcourse.batched.train_cached, kept in
      memory under the sheet's cache key (its code, data and settings) as in a student's
      session: a variant whose runs have the solution's key (it changed no code they depend
      on) reads them; a variant that changed their code trains its own.

    The random generators are put back afterwards, so each run draws what it drew before; what
    a cell computes does not change (the catalogue check compares the solution's behaviour on
    the probes with the stored one)."""
    from dlcourse import batched
    from dlcourse.mistakes import _random_state_kept

    saved = dict(batched._TRAINED)
    with _random_state_kept():
        namespace = {"__name__": "__notebook__"}
        for cell, source in cells:
            _run_cell(cell, source, namespace, {}, path)
    try:
        yield
    finally:
        batched._TRAINED.clear()
        batched._TRAINED.update(saved)


def _in_child(cells, namespace, path, probes=None):
    """Run ``cells`` in a forked copy of this process (``namespace`` and every imported module
    as they are now); returns their results, and with ``probes`` the graded functions'
    behaviour on them under BEHAVIOUR. A child that dies records a failing cell."""
    def work():
        results = {}
        for cell, source in cells:
            _run_cell(cell, source, namespace, results, path)
        if probes is not None:
            results[BEHAVIOUR] = behaviours(namespace, probes)
        return results

    return forked(work, {"the process running the notebook died or hung": False})


def forked(work, failed):
    """work() (JSON data) computed in a forked copy of this process; ``failed`` if it dies,
    raises or hangs."""
    read, write = os.pipe()
    gc.freeze()  # the child's garbage collector would otherwise touch (and so copy) every object
    pid = os.fork()
    if pid == 0:  # the child: run, send the results, and leave without pytest's clean-up
        status = 0
        try:
            os.close(read)
            result = work()
            with os.fdopen(write, "w") as pipe:
                json.dump(result, pipe)
        except BaseException:
            status = 1
        finally:
            os._exit(status)
    gc.unfreeze()
    os.close(write)
    data, deadline = b"", time.monotonic() + CHILD_SECONDS
    with os.fdopen(read, "rb") as pipe:
        while select.select([pipe], [], [], max(0.0, deadline - time.monotonic()))[0]:
            chunk = os.read(pipe.fileno(), 2**16)
            if not chunk:
                break
            data += chunk
        else:  # the deadline passed: a hang must fail the test, not stop the suite
            os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    if not data or status:
        return failed
    return json.loads(data)


def behaviours(namespace, probes):
    """{function: [call record per probe]} of the notebook's functions (see coursegrade.probe)."""
    return {name: json.loads(probe.run(namespace, name, json.dumps(calls))) for name, calls in probes.items()}


def failures(results):
    return {name for name, passed in results.items() if name != BEHAVIOUR and not passed}


_SHARED = {}  # (sheet, mutants, rounds): their runs, for the other test of the same mutation list


def _mutants_and_rounds(sheet, stored, mutants, alternatives):
    """(baseline, results of each mutant, results of each round of the alternatives): one
    grade_variants run for both tests of a mutation list (check_mutants, check_alternatives),
    so the solution runs once before the variants fork, not once for each test."""
    import catalogue

    together = rounds(alternatives)
    key = (sheet, tuple(mutants), tuple(together))
    if key not in _SHARED:
        probed = catalogue.probed(sheet, mutants) + [None] * len(together)
        baseline, graded = grade_variants(sheet, [*mutants, *together], diagnosis.probes(stored), probed)
        _SHARED[key] = baseline, graded[:len(mutants)], graded[len(mutants):]
    return _SHARED[key]


def check_mutants(sheet, mutants, alternatives=()):
    """Assert the two rules of the module docstring for every mutant, and that every answer
    cell of the sheet has mutants; report all offenders at once. With the sheet's
    ``alternatives`` their rounds run along (for check_alternatives with the same lists)."""
    import catalogue  # the mistake catalogue is checked on the same runs (it imports this module)

    missing = answer_cells(sheet) - covered_cells(mutants)
    assert not missing, f"no mutants for the answer cells {sorted(missing)}"
    stored = diagnosis.load(sheet)
    assert stored, f"sheet {sheet} has no mistake catalogue: run `.venv/bin/python tests/catalogue.py {sheet}`"
    baseline, graded, _ = _mutants_and_rounds(sheet, stored, mutants, alternatives)
    problems = catalogue.problems(sheet, mutants, stored, baseline, graded)
    baseline = failures(baseline)
    assert not baseline, f"the solution of {sheet} itself fails {sorted(baseline)}"
    for mutant, results in zip(mutants, graded):
        failed = failures(results)
        if not failed & set(mutant.task):
            problems.append(f"{mutant.name!r} passes every test of its task {mutant.task}")
        outside = failed - set(mutant.task)
        if outside:
            problems.append(f"{mutant.name!r} also fails {sorted(outside)} outside its task")
    assert not problems, "\n".join(problems)


def check_alternatives(sheet, alternatives, mutants=None):
    """Assert that every correct alternative passes every test cell of the sheet and looks like
    no known mistake (run in rounds: the module docstring). With the sheet's ``mutants`` the
    rounds run along with them (shared with check_mutants for the same lists)."""
    import catalogue

    stored = diagnosis.load(sheet)
    together = None if mutants is None else _mutants_and_rounds(sheet, stored, mutants, alternatives)[2]
    graded = _graded_in_rounds(sheet, alternatives, stored, together)
    problems = catalogue.diagnosed(stored, alternatives, graded)
    for alternative, results in zip(alternatives, graded):
        failed = failures(results)
        if failed:
            problems.append(f"correct alternative {alternative.name!r} fails {sorted(failed)}")
    assert not problems, "\n".join(problems)


def _graded_in_rounds(sheet, alternatives, stored, of_rounds=None):
    """Each alternative's results, as grade_variants gives them: its round's where the round
    passed every test cell and looks like no known mistake, else those of its own run.
    ``of_rounds``: the rounds' results where they have run already."""
    import catalogue

    probes, together = diagnosis.probes(stored), rounds(alternatives)
    of_rounds = grade_variants(sheet, together, probes)[1] if of_rounds is None else of_rounds
    graded = {}
    for group, results in zip(together, of_rounds):
        if not failures(results) and not catalogue.diagnosed(stored, [group], [results]):
            graded.update((alternative, results) for alternative in group.alternatives)
    alone = [alternative for alternative in alternatives if alternative not in graded]
    if alone:
        graded.update(zip(alone, grade_variants(sheet, alone, probes)[1]))
    return [graded[alternative] for alternative in alternatives]


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
