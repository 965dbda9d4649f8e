"""The kernel guard's snapshots, in this process (the grading tests run it in real kernels):
each finds a change, names it and puts the original back."""

import os
import sys
import types

import numpy as np

from coursegrade import guard, kernel_guard


def test_the_guard_travels_as_its_module_source():
    expression = guard.install_expression("abc", ["numpy"])
    assert "class ModuleSnapshot" in expression and "_result = install(" in expression and "abc" in expression
    compile(guard._SOURCE, "kernel_guard", "exec")  # the kernel compiles exactly this text


def test_module_snapshot_puts_back_a_replaced_function_and_its_code(monkeypatch):
    module = types.ModuleType("guarded_example")
    exec("def helper(x):\n    return x + 1\n\ndef other(x):\n    return x\n", vars(module))
    monkeypatch.setitem(sys.modules, "guarded_example", module)
    snapshot = kernel_guard.ModuleSnapshot(roots=(), exact=("guarded_example",))
    original = module.helper
    assert snapshot.check() == []
    module.helper = lambda x: 0
    module.other.__code__ = (lambda x: 0).__code__
    found = snapshot.check()
    assert "guarded_example.helper was replaced" in found
    assert "the code of guarded_example.other was replaced" in found
    assert module.helper is original and module.helper(1) == 2 and module.other(5) == 5
    assert snapshot.check() == []


def test_module_snapshot_puts_back_a_module_replaced_in_sys_modules(monkeypatch):
    module = types.ModuleType("guarded_example")
    monkeypatch.setitem(sys.modules, "guarded_example", module)
    snapshot = kernel_guard.ModuleSnapshot(roots=(), exact=("guarded_example",))
    sys.modules["guarded_example"] = types.ModuleType("guarded_example")
    assert snapshot.check() == ["the module guarded_example was replaced in sys.modules"]
    assert sys.modules["guarded_example"] is module


def test_a_lookalike_of_pytorchs_wrapper_is_not_accepted():
    snapshot = kernel_guard.ModuleSnapshot(roots=(), exact=())

    def original():
        pass

    def wrapper():
        return original()

    wrapper.__wrapped__ = original
    assert not snapshot.wrapped_by_torch(wrapper, original)


def test_process_snapshot_finds_hooks_grading_mode_and_numpy_errors(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    hook, errors, cwd = sys.excepthook, np.geterr(), os.getcwd()
    snapshot = kernel_guard.ProcessSnapshot()
    assert snapshot.check_hooks() == [] and snapshot.check_settings() == []
    try:
        sys.excepthook = lambda *args: None
        os.environ.pop("NBGRADER_EXECUTION")
        np.seterr(all="ignore")
        assert snapshot.check_hooks() == ["sys.excepthook was replaced"]
        assert snapshot.check_settings() == [
            "grading mode was switched off (NBGRADER_EXECUTION changed)",
            "numpy's floating-point error handling was changed (np.seterr)",
        ]
        assert sys.excepthook is hook and np.geterr() == errors
        assert os.environ["NBGRADER_EXECUTION"] == "autograde" and os.getcwd() == cwd
    finally:
        sys.excepthook = hook
        np.seterr(**errors)


def test_only_the_kernels_own_event_callbacks_are_accepted():
    from IPython.core import interactiveshell

    assert kernel_guard.from_kernel(interactiveshell.InteractiveShell.init_events)
    assert not kernel_guard.from_kernel(lambda: None)
    assert kernel_guard.is_tracked(np.allclose) and kernel_guard.is_tracked(np.add)
    assert not kernel_guard.is_tracked(3)
