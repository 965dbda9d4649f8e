"""Finished training runs, kept on disk so that running a cell again does not train again.

    history = cached_run("fashion-mlp", {"hidden": (50, 30), "epochs": 20, ...}, train)

The first call runs ``train()`` and stores its result (a dict of numbers, lists and numpy
arrays) as a small JSON file; later calls with the same key read the file instead. The key
must hold everything that changes the result: settings, seed, data, device and the source of
the functions that train (``code_fingerprint``). Change any of them and the run happens again.

- ``DLCOURSE_CACHE`` sets the folder (default: ``cache`` in the data folder, that is
  ``$DLCOURSE_DATA/cache`` or ``~/dlcourse-data/cache``).
- ``clear_cache()`` deletes every stored run.
- While nbgrader grades, the cache is neither read nor written: every run really happens.
"""

import hashlib
import inspect
import json
import os
from pathlib import Path

import numpy as np

from dlcourse.budget import grading


def cache_folder() -> Path:
    """The folder of stored runs: $DLCOURSE_CACHE, or cache/ in the data folder."""
    from dlcourse.data import data_folder  # here, not at the top: dlcourse.data imports PyTorch

    return Path(os.environ.get("DLCOURSE_CACHE") or data_folder() / "cache").expanduser()


def code_fingerprint(*functions):
    """A short hash of the source code of ``functions`` (your edits change it)."""
    digest = hashlib.sha256()
    for function in functions:
        try:
            source = inspect.getsource(function)
        except (OSError, TypeError):  # no source to read: use the compiled code instead
            source = _compiled_text(function.__code__)
        digest.update(source.encode())
    return digest.hexdigest()[:16]


def _compiled_text(code):
    """The instructions, names and constants of compiled code, nested functions included
    (without file names, line numbers or memory addresses, which change between sessions)."""
    constants = [_compiled_text(c) if inspect.iscode(c) else repr(c) for c in code.co_consts]
    return "|".join([code.co_code.hex(), repr(code.co_names), repr(code.co_varnames), *constants])


def _path(name, key):
    text = json.dumps(key, sort_keys=True, default=str)
    return cache_folder() / f"{name}-{hashlib.sha256(text.encode()).hexdigest()[:20]}.json"


def cached_run(name, key, compute):
    """``compute()``'s result, read from disk if a run with this ``name`` and ``key`` is stored."""
    stored = load_run(name, key)
    if stored is not None:
        return stored
    result = compute()
    save_run(name, key, result)
    return result


def load_run(name, key):
    """The stored run with this ``name`` and ``key``, or None (always None while grading)."""
    path = _path(name, key)
    if grading() or not path.exists():
        return None
    return from_plain(json.loads(path.read_text()))


def to_plain(result):
    """A run's result (a dict of numbers, lists and arrays) as JSON data: arrays become lists."""
    return {k: np.asarray(v).tolist() if isinstance(v, (np.ndarray, list, tuple)) else v for k, v in result.items()}


def from_plain(stored):
    """The result that ``to_plain`` was given, with its lists as numpy arrays."""
    return {k: np.array(v) if isinstance(v, list) else v for k, v in stored.items()}


def save_run(name, key, result):
    """Store ``result`` (a dict of numbers, lists and arrays) under ``name`` and ``key`` (not while grading)."""
    if grading():
        return
    path = _path(name, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")  # an interrupted write is never read
    partial.write_text(json.dumps(to_plain(result)))
    partial.replace(path)


def clear_cache():
    """Delete every stored run; returns how many there were."""
    files = list(cache_folder().glob("*.json")) if cache_folder().exists() else []
    for file in files:
        file.unlink()
    return len(files)
