"""Name a known mistake when a visible test fails in JupyterLab.

For every function you write, the course keeps the mistakes students often make, each with a
sentence (the grader's mistake catalogue). When a test cell fails, the functions it checks are
called once more on the inputs of the visible test (and a few of the same kind); if they behave
exactly like a known mistake, its sentence is shown under the error, e.g.

    This looks like a known mistake: softmax subtracts the global maximum.

If they behave like a correct solution, it says that the failure is probably elsewhere. If no
known mistake matches, nothing is added: no guess. Nothing here runs while nbgrader grades or
validates (the grader says the same in the feedback).
"""

import contextlib
import functools
import io
import json
import random
import signal
import sys
from pathlib import Path

SECONDS = 5  # the most the extra calls may take after a failed test


class _TooSlow(BaseException):  # not an Exception: the probes must not take it for your function's error
    pass


def sentence(namespace, test_id, sheet=None):
    """The sentence about the failed test cell ``test_id`` (its nbgrader id) of ``sheet`` (by
    default the notebook's folder), from your functions in ``namespace``; None if none applies."""
    try:
        from coursegrade import diagnosis, probe
    except ImportError:  # the course's grading package is not installed here
        return None
    catalogue = _catalogue(sheet or Path.cwd().name)
    names = diagnosis.functions_of(catalogue, test_id) if catalogue else []
    if not names:
        return None
    observed = {}
    with contextlib.suppress(_TooSlow, Exception), _quiet(), _random_state_kept(), _time_limit(SECONDS):
        for name in names:
            calls = json.dumps(catalogue["functions"][name]["probes"])
            observed[name] = json.loads(probe.run(namespace, name, calls))
    return diagnosis.diagnose(catalogue, test_id, observed)


@functools.lru_cache(maxsize=8)
def _catalogue(sheet):
    """The sheet's catalogue, read once per session (the handler runs on every error, not only
    in test cells)."""
    from coursegrade import diagnosis

    return diagnosis.load(sheet)


@contextlib.contextmanager
def _quiet():
    """Whatever your functions print during the extra calls is not shown."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


@contextlib.contextmanager
def _random_state_kept():
    """The extra calls start from a fixed seed; your session's random numbers go on as before."""
    import numpy as np

    torch = sys.modules.get("torch")  # only if the notebook uses it
    states = random.getstate(), np.random.get_state(), torch.get_rng_state() if torch else None
    try:
        yield
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        if torch:
            torch.set_rng_state(states[2])


@contextlib.contextmanager
def _time_limit(seconds):
    """Stop the extra calls after ``seconds`` (a function that loops forever gets no sentence)."""
    def stop(*_):
        raise _TooSlow

    if not hasattr(signal, "setitimer"):  # Windows: no timer signal
        yield
        return
    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
