"""What a worker needs to know about a sheet, read by the coordinator from nbgrader's gradebook.

The gradebook holds every graded cell as ``nbgrader generate_assignment`` stored it: test cells
with their hidden tests, points, checksums. Together with the release notebook (the order of
the cells, the stubs) this is the sheet spec, a plain dict that travels to the workers. The
reference solutions in ``solutions/`` never leave the coordinator: they are only read to keep
reference code out of feedback (see feedback.py).
"""

import ast
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from coursegrade import diagnosis

# nbgrader's Gradebook runs its helper program (alembic) by name: the environment's bin/ first.
BIN = str(Path(sys.executable).parent)
if BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = BIN + os.pathsep + os.environ.get("PATH", "")


def ensure_assignment(course, sheet, db_url, config):
    """Make sure the gradebook knows the sheet: nbgrader's own generate_assignment (run here,
    through its Python API, with the course's ``config``) stores its cells; its release goes to
    a temporary folder so that notebooks/ is not touched."""
    with Gradebook(db_url) as gb:
        try:
            gb.find_assignment(sheet)
            if gb.find_assignment(sheet).notebooks:
                return
        except MissingEntry:
            pass
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    with tempfile.TemporaryDirectory() as release:
        coursedir = CourseDirectory(config=config)
        coursedir.root, coursedir.release_directory = str(course), release
        done = NbGraderAPI(coursedir=coursedir, config=config).generate_assignment(sheet, force=True, create=True)
        if not done.get("success"):
            raise RuntimeError(f"nbgrader generate_assignment {sheet} failed:\n{done.get('log', '')}\n{done.get('error', '')}")


def _imports(sources):
    modules = []
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.append(node.module)
    return sorted(set(modules))


def given_functions(release):
    """{name: source} of the functions the sheet gives (top-level, undecorated defs in the
    release's cells that are neither answers nor tests): the tester makes its own from this."""
    functions = {}
    for cell in release.cells:
        flags = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or flags.get("solution") or flags.get("grade"):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and not node.decorator_list:
                functions[node.name] = ast.get_source_segment(cell.source, node)
    return functions


def build(course, sheet, db_url, release_folder):
    """The sheet spec: {"sheet", "hash", "notebooks": {name: {"release", "graded", "imports",
    "mistakes", "given_functions"}},
    "files": {path: bytes}} (files: the release's other files, copied beside the notebook)."""
    course = Path(course)
    release_dir = course / release_folder / sheet
    notebooks, files = {}, {}
    with Gradebook(db_url) as gb:
        assignment = gb.find_assignment(sheet)
        for notebook in assignment.notebooks:
            release = nbformat.read(release_dir / f"{notebook.name}.ipynb", as_version=4)
            max_scores = {c.name: c.max_score for c in notebook.grade_cells}
            max_scores.update({c.name: c.max_score for c in notebook.task_cells})
            solution = {c.name for c in notebook.solution_cells}
            tasks = {c.name for c in notebook.task_cells}
            graded = {}
            for cell in notebook.source_cells:
                grade = cell.name in max_scores and cell.name not in tasks
                graded[cell.name] = {
                    "grade_id": cell.name, "cell_type": cell.cell_type, "locked": bool(cell.locked),
                    "source": cell.source, "checksum": cell.checksum, "grade": grade,
                    "solution": cell.name in solution, "task": cell.name in tasks,
                    "points": max_scores.get(cell.name),
                }
            given = [c.source for c in release.cells if c.cell_type == "code" and not c.metadata.get("nbgrader", {}).get("solution")]
            tests = [g["source"] for g in graded.values() if g["grade"] and not g["solution"]]
            notebooks[notebook.name] = {"release": json.loads(nbformat.writes(release)), "graded": graded,
                                        "imports": _imports(given + tests), "mistakes": diagnosis.load(sheet),
                                        "given_functions": given_functions(release)}
    for path in sorted(release_dir.rglob("*")):
        if path.is_file() and path.suffix != ".ipynb":
            files[path.relative_to(release_dir).as_posix()] = path.read_bytes()
    digest = hashlib.sha256(json.dumps(notebooks, sort_keys=True).encode())
    for name, content in sorted(files.items()):
        digest.update(name.encode() + content)
    return {"sheet": sheet, "notebooks": notebooks, "files": files, "hash": digest.hexdigest()[:16]}
