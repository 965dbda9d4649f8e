"""The mistake catalogue of a sheet (coursegrade/diagnosis.py), built from its mutation list.

    .venv/bin/python tests/catalogue.py [sheet ...]   # rebuild coursegrade/mistakes/<sheet>.json

1. Probes: the solution runs on the grading budget; while the *visible* part of each test cell
   runs, every call of a graded function (a ``def`` in an answer cell) with plain arguments is
   recorded (at most PROBES per function), and every call of an instance of a graded class with
   how it was made. Hidden tests' inputs are never recorded. The sheet's EXTRA statements and
   BUILT recipes (extra_probes.py) add probes of the catalogue's own.
2. Behaviour: the reference and every mutant (tests/test_mutants_sheet0*.py) run as in the
   mutation tests; at the end of each run, each graded function is called on its probes.
3. A mutant enters the catalogue under its sentence with the functions of its cell that behave
   differently from the reference (for a function in TYPED, extra_probes.py, a numpy number where
   the reference returns a Python one is a difference: diagnosis.typed); a mutant that behaves
   like the reference on every probe cannot be recognised from the visible inputs and is left
   out (the coverage figure counts it).

The mutation tests rebuild the behaviour of every mutant and correct alternative on the stored
probes, check that the stored catalogue is current, and print the share of mistakes it names.
"""

import ast
import importlib
import inspect
import json
import sys
import weakref
from pathlib import Path

import nbformat

HERE = Path(__file__).parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import extra_probes  # noqa: E402
import mutation  # noqa: E402
from nbtools import SHEETS, is_code_answer, is_test_cell, nbgrader_meta, notebook  # noqa: E402

from coursegrade import diagnosis, probe  # noqa: E402
from coursegrade.feedback import split_hidden  # noqa: E402

# The share of each sheet's mutation list that the catalogue names (measured; a ratchet, never lowered).
FLOOR = dict(zip(SHEETS, (0.98, 1.0, 1.0, 1.0, 0.96)))
PROBES = 10  # calls recorded per function: enough to tell mistakes apart, few enough to be quick


def graded_functions(nb):
    """{function (or class) name: grade_id of the answer cell that defines it}."""
    found = {}
    for cell in nb.cells:
        if is_code_answer(cell):
            for node in ast.parse(cell.source).body:
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                    found[node.name] = nbgrader_meta(cell)["grade_id"]
    return found


def _code_names(code):
    """The global names a function's code (and the code nested in it) reads."""
    return {*code.co_names, *(n for c in code.co_consts if inspect.iscode(c) for n in _code_names(c))}


def _holds(node, code):
    """Is the code (of a lambda) compiled from this expression? (its first located instruction lies in it)"""
    line, _, column, _ = next(p for p in code.co_positions() if p[2])
    return (node.lineno, node.col_offset) <= (line, column) <= (node.end_lineno, node.end_col_offset)


def _tag_helpers(values, sources):
    """Give the functions that a visible test, the sheet's given code or EXTRA defines (a ``def``
    at the top of a cell, or a lambda alone on its line) their source and the plain global values
    they read, so that they can be probe arguments (probe.encode_argument)."""
    for value in values:
        code = getattr(value, "__code__", None)
        source = sources.get(code.co_filename) if code else None
        if source is None or code.co_freevars or getattr(value, "__source__", None):
            continue
        tree = ast.parse(source)
        if value.__name__ == "<lambda>":
            found = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda) and _holds(n.body, code)]
            text, name = (f"_probed = ({ast.get_source_segment(source, found[0])})", "_probed") if len(found) == 1 else (None, None)
        else:
            found = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == value.__name__]
            text, name = (ast.get_source_segment(source, found[-1]), value.__name__) if found else (None, None)
        if text:
            value.__source__, value.__probe_name__ = text, name
            read = {k: value.__globals__[k] for k in _code_names(code) if k in value.__globals__}
            value.__values__ = {k: probe.encode_argument(v) for k, v in read.items()
                                if not inspect.ismodule(v) and not callable(v) and probe.plain(v)}


def _record(calls, args, kwargs, limit, options):
    """Add the call (encoded, with its options) to calls if its arguments are plain and there is room."""
    if len(calls) >= limit or not all(probe.plain(v) for v in (*args, *kwargs.values())):
        return
    try:
        call = probe.encode_call(args, kwargs)
    except ValueError:  # an optimizer of parameters outside the call
        return
    if probe.autograd_is_off():
        options = {**options, "autograd": "off"}  # run as the test runs it (probe._autograd_off)
    call = [*call, options] if options else call
    if call not in calls:
        calls.append(call)


def _recorder(function, calls, sources, limit=PROBES, options=None):
    if isinstance(function, type):
        return _class_recorder(function, calls, limit, options or {})

    def recorded(*args, **kwargs):
        _tag_helpers((*args, *kwargs.values()), sources)
        _record(calls, args, kwargs, limit, options or {})
        return function(*args, **kwargs)

    return recorded


def _class_recorder(kind, calls, limit, options):
    """The graded class, whose instances record how they were made and called: the probe makes
    one anew and calls it the same way (probe._made_and_called)."""
    made = weakref.WeakKeyDictionary()

    class Recorded(kind):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made[self] = args, kwargs

        def __call__(self, *args, **kwargs):
            if self in made and all(probe.plain(v) for v in (*args, *kwargs.values())):
                _record(calls, *made[self], limit, {**options, "call": probe.encode_call(args, kwargs)})
            return super().__call__(*args, **kwargs)

    Recorded.__name__, Recorded.__qualname__ = kind.__name__, kind.__qualname__
    return Recorded


def _filename(path, cell):
    return f"{Path(path).name}:{nbgrader_meta(cell).get('grade_id') or cell.get('id')}"  # as mutation._run_cell names it


def record_probes(sheet):
    """{function: [[args, kwargs], ...]}: the graded functions' calls in the visible tests, then
    the sheet's EXTRA calls (extra_probes.py)."""
    path = notebook(sheet)
    nb = nbformat.read(path, as_version=4)
    names = graded_functions(nb)

    def work():
        namespace, calls, results, sources = {"__name__": "__notebook__"}, {name: [] for name in names}, {}, {}
        for cell in nb.cells:
            if not is_test_cell(cell):
                if not is_code_answer(cell):
                    sources[_filename(path, cell)] = cell.source
                mutation._run_cell(cell, cell.source, namespace, results, path)
                continue
            originals = {name: namespace[name] for name in names if callable(namespace.get(name))}
            visible = split_hidden(cell.source)[0]
            sources[_filename(path, cell)] = visible
            namespace.update({name: _recorder(f, calls[name], sources) for name, f in originals.items()})
            mutation._run_cell(cell, visible, namespace, results, path)
            namespace.update(originals)
        _extra(sheet, namespace, {name: calls[name] for name in names if callable(namespace.get(name))}, sources)
        return {name: found for name, found in calls.items() if found}

    with mutation._grading_run(path):
        return mutation.forked(work, None)


def _extra(sheet, namespace, calls, sources):
    """Run the sheet's EXTRA statements (extra_probes.py) with every call of a graded function
    recorded (with the statement's options), then add its BUILT probes."""
    originals = {name: namespace[name] for name in calls}
    for number, entry in enumerate(extra_probes.EXTRA.get(sheet, ())):
        statement, options = (entry, {}) if isinstance(entry, str) else entry
        namespace.update({name: _recorder(f, calls[name], sources, 2 * PROBES, options) for name, f in originals.items()})
        filename = f"extra_probes.py:{sheet}:{number}"
        sources[filename] = statement
        try:
            exec(compile(statement, filename, "exec"), namespace)
        except Exception:  # a probe may ask for the error a wrong input gives
            pass
    namespace.update(originals)
    for name, recipes in extra_probes.BUILT.get(sheet, {}).items():
        calls[name].extend([[], {}, {"recipe": _recipe(source)}] for source in recipes)


def _recipe(source):
    """A recipe (the source of a function that builds a probe's arguments) as a probe option."""
    return {"function": source, "name": ast.parse(source).body[0].name, "values": {}}


def build(sheet, mutants, probes):
    """The catalogue: {"sheet", "functions": {name: {"cell", "probes", "reference"}}, "mistakes": [...]}."""
    return assemble(sheet, mutants, probes, *mutation.grade_variants(sheet, mutants, probes))


def assemble(sheet, mutants, probes, baseline, graded):
    """The catalogue from the runs of the reference (baseline) and of the mutants (graded)."""
    cells = graded_functions(nbformat.read(notebook(sheet), as_version=4))
    reference = baseline[mutation.BEHAVIOUR]
    typed = set(extra_probes.TYPED.get(sheet, ()))
    functions = {name: {"cell": cells[name], "probes": calls, "reference": reference[name],
                        **({"types": True} if name in typed else {})} for name, calls in probes.items()}
    mistakes = []
    for mutant, results in zip(mutants, graded):
        seen = results.get(mutation.BEHAVIOUR, {})
        differing = {name: calls for name, calls in seen.items() if cells[name] == mutant.cell
                     and not diagnosis.same_behaviour(calls, reference[name], name in typed)}
        if differing:
            mistakes.append({"name": mutant.name, "tasks": list(mutant.task), "behaviour": differing})
    return {"sheet": sheet, "functions": functions, "mistakes": mistakes}


def probed(sheet, mutants):
    """For each mutant, the graded functions whose behaviour the checks below read: those of its
    own cell (``assemble``) and those of every cell with a mutant of one of its tasks (what
    ``named`` looks at). Probing only these keeps the mutation runs short."""
    cells = graded_functions(nbformat.read(notebook(sheet), as_version=4))
    return [{f for f, cell in cells.items()
             if cell == m.cell or any(cell == other.cell and set(other.task) & set(m.task) for other in mutants)}
            for m in mutants]


def _differences(a, b):
    """Where catalogue a differs from catalogue b (empty when they agree)."""
    found = [f"the graded functions: {sorted(a['functions'])} here, {sorted(b['functions'])} stored"
             ] if a["functions"].keys() != b["functions"].keys() else []
    found += [f"the reference's {f}" for f in a["functions"].keys() & b["functions"].keys()
              if a["functions"][f].get("types") != b["functions"][f].get("types")
              or not diagnosis.same_behaviour(a["functions"][f]["reference"], b["functions"][f]["reference"], types=True)]
    mistakes = {m["name"]: m for m in b["mistakes"]}
    for m in a["mistakes"]:
        stored = mistakes.pop(m["name"], None)
        if stored is None or stored["tasks"] != m["tasks"] or sorted(stored["behaviour"]) != sorted(m["behaviour"]) \
                or not all(diagnosis.same_behaviour(m["behaviour"][f], stored["behaviour"][f], types=True) for f in m["behaviour"]):
            found.append(f"the mistake {m['name']!r}")
    return found + [f"the mistake {name!r} (no longer recognisable)" for name in mistakes]


def problems(sheet, mutants, stored, baseline, graded):
    """What is wrong with the stored catalogue, given this run of the mutants on its probes:
    out of date, or naming fewer mistakes than the sheet's floor (the figure is printed)."""
    probes = diagnosis.probes(stored)
    fresh = assemble(sheet, mutants, probes, baseline, graded)
    found = [m for m, r in zip(mutants, graded) if named(fresh, m, r.get(mutation.BEHAVIOUR, {}))]
    share = len(found) / len(mutants)
    print(f"{sheet}: the feedback names {len(found)} of {len(mutants)} known mistakes ({100 * share:.0f} %)")
    wrong = []
    differences = _differences(fresh, stored)
    if differences:
        wrong.append(f"coursegrade/mistakes/{sheet}.json is out of date ({'; '.join(differences[:5])}): "
                     f"run `.venv/bin/python tests/catalogue.py {sheet}`")
    if share < FLOOR[sheet]:
        wrong.append(f"the catalogue names {100 * share:.0f} % of the mistakes, less than the {100 * FLOOR[sheet]:.0f} % "
                     "it named before: " + "; ".join(m.name for m in mutants if m not in found))
    return wrong


def diagnosed(stored, alternatives, graded):
    """The correct alternatives that the catalogue would take for a known mistake."""
    return [f"correct alternative {a.name!r} looks like {found}" for a, results in zip(alternatives, graded)
            for task in {t for m in stored["mistakes"] for t in m["tasks"]}
            for found in [diagnosis.mistakes_found(stored, task, results.get(mutation.BEHAVIOUR, {}))] if found]


def named(catalogue, mutant, behaviour):
    """Does the catalogue name this mutant's mistake from its behaviour, for a task it fails?"""
    return any(mutant.name in diagnosis.mistakes_found(catalogue, task, behaviour) for task in mutant.task)


def mutants_of(sheet):
    number = SHEETS.index(sheet) + 1
    return importlib.import_module(f"test_mutants_sheet{number:02d}")


def main(sheets):
    diagnosis.FOLDER.mkdir(exist_ok=True)
    for sheet in sheets:
        mutants = mutants_of(sheet).MUTANTS
        catalogue = build(sheet, mutants, record_probes(sheet))
        (diagnosis.FOLDER / f"{sheet}.json").write_text(json.dumps(catalogue, sort_keys=True, separators=(",", ":")) + "\n")
        print(f"{sheet}: {len(catalogue['mistakes'])} of {len(mutants)} mistakes recognisable from the visible inputs", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or SHEETS)
