"""Preflight: turn whatever a student handed in into a notebook nbgrader can grade.

Repairs, each with one plain-language reason: unreadable bytes, broken JSON (then the release
is graded, so that the student still gets feedback), old notebook formats, missing or
duplicated cell ids, graded cells whose metadata was edited, renamed or deleted, duplicated
answer or test cells (a copy-pasted answer cell), edited test cells (restored from the
gradebook, hidden tests included, as nbgrader does), deleted test and answer cells
(re-inserted where they belong). Never raises for a bad submission.
"""

import ast
import copy
import difflib
import functools
import json
import re
import uuid

import nbformat

MAX_NOTEBOOK_BYTES = 100 * 2**20
CELL_ID = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")


def _source(cell):
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(str(part) for part in source)
    return source if isinstance(source, str) else str(source)


def _defined_functions(source):
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    return {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}


def _nbgrader(cell):
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def read_notebook(data, name, reasons):
    """Bytes -> a plain dict in notebook format 4, or None if nothing can be read."""
    if len(data) > MAX_NOTEBOOK_BYTES:
        reasons.append(f"{name} is {len(data) / 2**20:.0f} MB, more than a notebook can be; it was not read.")
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
        reasons.append(f"{name} is not UTF-8 text; it was read as Latin-1.")
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError):
        try:
            raw = json.loads(text, strict=False)
            reasons.append(f"{name} contained control characters inside strings; they were accepted.")
        except (ValueError, RecursionError) as error:
            reasons.append(f"{name} is not valid JSON ({str(error)[:120]}): the file is broken, so "
                           "the untouched sheet was graded instead. Open it in an editor or ask for help.")
            return None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells", raw.get("worksheets")), list):
        reasons.append(f"{name} is JSON but not a notebook; the untouched sheet was graded instead.")
        return None
    major = raw.get("nbformat")
    if isinstance(major, int) and major < 4 and "worksheets" in raw:
        try:
            raw = nbformat.convert(nbformat.from_dict(raw), 4)
            reasons.append(f"{name} was saved in the old notebook format {major}; it was converted to format 4.")
        except Exception:
            reasons.append(f"{name} is in the old notebook format {major} and could not be converted; "
                           "the untouched sheet was graded instead.")
            return None
    return raw


def _clean_cell(raw, reasons, position):
    """A valid v4 cell from a raw dict, or None (with a reason)."""
    if not isinstance(raw, dict) or raw.get("cell_type") not in ("code", "markdown", "raw"):
        reasons.append(f"cell {position + 1} is not a code, markdown or raw cell; it was removed.")
        return None
    metadata = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
    metadata = copy.deepcopy(metadata)
    if "nbgrader" in metadata and not isinstance(metadata["nbgrader"], dict):
        del metadata["nbgrader"]
    maker = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell,
             "raw": nbformat.v4.new_raw_cell}[raw["cell_type"]]
    cell = maker(source=_source(raw), metadata=metadata)
    if isinstance(raw.get("id"), str):
        cell["id"] = raw["id"]
    return cell


class _Sheet:
    """The release and the gradebook's graded cells of a sheet, looked up the ways the repairs need."""

    def __init__(self, nbspec):
        self.release = nbformat.reads(json.dumps(nbspec["release"]), as_version=4)
        self.graded = nbspec["graded"]
        cells = self.release.cells
        self.by_id = {c.get("id"): c for c in cells}
        self.by_gid = {_nbgrader(c)["grade_id"]: c for c in cells if _nbgrader(c).get("grade_id")}
        self.grade_id_of = {c.get("id"): _nbgrader(c).get("grade_id") for c in cells if _nbgrader(c).get("grade_id")}
        self.stub_defs = {gid: _defined_functions(_source(c)) for c in cells
                          if (gid := _nbgrader(c).get("grade_id")) and c.cell_type == "code"}

    @functools.cached_property
    def visible_locked(self):
        """{grade_id: source} of the release's graded cells that are not answers."""
        return {g: _source(c) for c in self.release.cells
                if (g := _nbgrader(c).get("grade_id")) and not self.graded[g]["solution"]}


def repair(data, name, nbspec, reasons):
    """The submitted notebook (bytes, or None if missing) repaired against the sheet.

    Returns (notebook, student_cells) where student_cells lists (label, source) of the code
    that the student wrote or changed, for the tampering scan. The repairs run in this order,
    each appending its plain-language reasons.
    """
    sheet = _Sheet(nbspec)
    raw = read_notebook(data, name, reasons) if data is not None else None
    if raw is None:
        cells = [copy.deepcopy(c) for c in sheet.release.cells]
    else:
        cells = [c for i, r in enumerate(raw.get("cells", [])) if (c := _clean_cell(r, reasons, i)) is not None]
    for named_repair in REPAIRS:
        cells = named_repair(cells, sheet, reasons)
    nb = nbformat.v4.new_notebook(cells=cells, metadata=copy.deepcopy(sheet.release.metadata))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb, student_code(nb, sheet)


def recognise_graded_cells(cells, sheet, reasons):
    """Graded cells whose grade id was renamed or whose nbgrader metadata was deleted get it
    back; unknown nbgrader metadata is removed."""
    for cell in cells:
        meta = _nbgrader(cell)
        gid = meta.get("grade_id")
        if gid in sheet.graded:
            continue
        guess = _guess_grade_id(cell, meta, sheet)
        if guess is not None:
            if gid:
                reasons.append(f"the cell '{gid}' had its nbgrader id changed; it was recognised as '{guess}'.")
            else:
                reasons.append(f"the cell '{guess}' had lost its nbgrader metadata; it was restored.")
            cell.metadata["nbgrader"] = {"grade_id": guess}
        elif meta:
            reasons.append(f"a cell with unknown nbgrader metadata ('{gid}') was treated as an ordinary cell.")
            del cell.metadata["nbgrader"]
    return cells


def _guess_grade_id(cell, meta, sheet):
    """The graded cell of the release this cell is: by its cell id, by the functions an
    answer defines, or (locked or graded cells) by a source at least 80 % alike; else None."""
    guess = sheet.grade_id_of.get(cell.get("id"))
    if guess is None and cell.cell_type == "code":
        defs = _defined_functions(_source(cell))
        matches = [g for g, d in sheet.stub_defs.items() if d and d == defs and sheet.graded[g]["solution"]]
        if len(matches) == 1:
            guess = matches[0]
    if guess is None and (meta.get("grade") or meta.get("locked")):
        visible = sheet.visible_locked
        best = max(visible, key=lambda g: difflib.SequenceMatcher(None, visible[g], _source(cell)).ratio(), default=None)
        if best and difflib.SequenceMatcher(None, visible[best], _source(cell)).ratio() > 0.8:
            guess = best
    return guess


def merge_duplicated_graded_cells(cells, sheet, reasons):
    """A graded cell that appears more than once: of an answer the copy with work in it is
    graded (the others become ordinary cells); a test cell runs once."""
    by_gid = {}
    for cell in cells:
        gid = _nbgrader(cell).get("grade_id")
        if gid:
            by_gid.setdefault(gid, []).append(cell)
    drop = set()
    for gid, copies in by_gid.items():
        if len(copies) < 2:
            continue
        if sheet.graded[gid]["solution"]:
            stub = sheet.graded[gid]["source"]
            worked = [c for c in copies if _source(c).strip() != stub.strip()]
            keep = worked[-1] if worked else copies[0]
            for cell in copies:
                if cell is not keep:
                    del cell.metadata["nbgrader"]
            reasons.append(f"the answer cell '{gid}' appeared {len(copies)} times; the copy with your work "
                           "is graded, the others run as ordinary cells.")
        else:
            drop.update(id(c) for c in copies[1:])
            reasons.append(f"the test cell '{gid}' appeared {len(copies)} times; it runs once.")
    return [c for c in cells if id(c) not in drop]


def restore_graded_cells(cells, sheet, reasons):
    """Graded cells get their type, their metadata and (when locked) their source back from
    the gradebook, hidden tests included."""
    for cell in cells:
        gid = _nbgrader(cell).get("grade_id")
        if not gid:
            continue
        info = sheet.graded[gid]
        if cell.cell_type != info["cell_type"]:
            reasons.append(f"the cell '{gid}' was changed from {info['cell_type']} to {cell.cell_type}; changed back.")
            _change_type(cell, info["cell_type"])
        visible = _source(sheet.by_gid[gid]) if gid in sheet.by_gid else info["source"]
        if info["locked"] and _source(cell) not in (visible, info["source"]):
            if not info["solution"] and info["grade"]:
                reasons.append(f"the test cell '{gid}' was edited; it was restored.")
            else:
                reasons.append(f"the read-only cell '{gid}' was edited; it was restored.")
        if info["locked"]:
            cell.source = info["source"]
        cell.metadata["nbgrader"] = _metadata(info)
    return cells


def _change_type(cell, cell_type):
    maker = nbformat.v4.new_code_cell if cell_type == "code" else nbformat.v4.new_markdown_cell
    new = maker(source=_source(cell), metadata=cell.metadata)
    new["id"] = cell.get("id")
    cell.clear()
    cell.update(new)


def reinsert_deleted_cells(cells, sheet, reasons):
    """Graded cells that are missing, and (when at least half of the release's cells are
    still recognisable) deleted given code cells, are put back after the cell that precedes
    them in the release."""
    release = sheet.release.cells
    present = {_nbgrader(c).get("grade_id") for c in cells}
    ids_present = {c.get("id") for c in cells}
    known_ids = sum(1 for c in release if c.get("id") in ids_present)
    restore_given = known_ids >= len(release) / 2
    for position, original in enumerate(release):
        gid = _nbgrader(original).get("grade_id")
        missing_graded = gid and gid not in present
        missing_given = (not gid and restore_given and original.cell_type == "code"
                         and original.get("id") not in ids_present)
        if not (missing_graded or missing_given):
            continue
        new = copy.deepcopy(original)
        if gid:
            info = sheet.graded[gid]
            if info["locked"]:
                new.source = info["source"]
            new.metadata["nbgrader"] = _metadata(info)
            kind = "test cell" if info["grade"] and not info["solution"] else "answer cell"
            reasons.append(f"the {kind} '{gid}' was deleted; it was put back"
                           + (" (empty)." if info["solution"] else "."))
        else:
            reasons.append(f"a code cell of the sheet ({original.get('id')}) was deleted; it was put back.")
        cells.insert(_insert_position(cells, release[:position]), new)
        present.add(gid)
        ids_present.add(new.get("id"))
    return cells


def renumber_cell_ids(cells, sheet, reasons):
    """Cell ids unique and valid (nbformat 4.5); outputs cleared."""
    seen, renamed = set(), 0
    for cell in cells:
        cid = cell.get("id")
        if not isinstance(cid, str) or not CELL_ID.match(cid) or cid in seen:
            renamed += cid is not None
            cell["id"] = uuid.uuid4().hex[:12]
        seen.add(cell["id"])
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    if renamed:
        reasons.append(f"{renamed} cell id(s) were duplicated or invalid (copy-pasted cells); they were renumbered.")
    return cells


REPAIRS = (recognise_graded_cells, merge_duplicated_graded_cells, restore_graded_cells,
           reinsert_deleted_cells, renumber_cell_ids)


def student_code(nb, sheet):
    """(label, source) of the code cells the student wrote or changed: answers, edited given
    cells, added cells."""
    student, release_sources = [], {_source(c) for c in sheet.release.cells}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = _nbgrader(cell)
        original = sheet.by_id.get(cell.get("id"))
        if original is None and cell.source in release_sources:
            original = cell  # a given cell that lost its id (e.g. an old notebook format)
        if meta.get("solution"):
            student.append((f"answer cell '{meta['grade_id']}'", cell.source))
        elif not meta.get("locked") and (original is None or _source(original) != cell.source):
            label = f"given cell {cell.get('id')} (edited)" if original is not None else "a cell the student added"
            student.append((label, cell.source))
    return student


def _metadata(info):
    meta = {"grade": info["grade"], "grade_id": info["grade_id"], "locked": info["locked"],
            "schema_version": 3, "solution": info["solution"], "task": info["task"]}
    if info["points"] is not None and (info["grade"] or info["task"]):
        meta["points"] = info["points"]
    if info.get("checksum"):
        meta["checksum"] = info["checksum"]
    return meta


def _insert_position(cells, before):
    """Index after the last cell of `before` (release cells) found in `cells`."""
    gids = {_nbgrader(c).get("grade_id"): c for c in before if _nbgrader(c).get("grade_id")}
    ids = {c.get("id") for c in before}
    for index in range(len(cells) - 1, -1, -1):
        cell = cells[index]
        if cell.get("id") in ids or _nbgrader(cell).get("grade_id") in gids:
            return index + 1
    return 0
