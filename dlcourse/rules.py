"""Rules a test puts in force while it calls your code, for tasks that ask you to do by hand
what a library could do for you:

    with dlcourse.rule("no differentiation"):   # write the derivative down yourself
        expr = relu_derivative_expression(x)
    with dlcourse.rule("no autograd"):          # backpropagate with your own formulas
        dx, dW = layer_backward(W, x, z_hat)

In JupyterLab and under ``nbgrader validate`` a rule holds in your kernel while the block
runs. When the grader runs the tests in a process of its own (coursegrade), it puts the rules
in force there (``in_force()``) in your kernel too, around each call of your code.
"""

import contextlib
import os
import sys
import unittest.mock

_IN_FORCE = []


def in_force():
    """The names of the rules in force in this process now, outermost first."""
    return list(_IN_FORCE)


@contextlib.contextmanager
def rule(name):
    """Put the rule ``name`` (one of RULES) in force while the block runs."""
    if name not in RULES:
        raise ValueError(f"there is no rule {name!r}; the rules are {sorted(RULES)}")
    with RULES[name]():
        _IN_FORCE.append(name)
        try:
            yield
        finally:
            _IN_FORCE.pop()


def _no_differentiation():
    """sympy refuses a derivative that your code asks for (sp.diff, .diff, sp.Derivative);
    sympy's own internal derivatives (while it simplifies, compares or decides signs) go ahead."""
    import sympy

    folder = os.path.dirname(sympy.__file__)
    create = sympy.Derivative.__new__

    def refusing(cls, *args, **kwargs):
        frame, entry = sys._getframe(1), None
        while frame is not None and frame.f_code.co_filename.startswith(folder):
            entry, frame = frame, frame.f_back  # entry: the sympy function your code called
        if entry is None or entry.f_code.co_name in ("diff", "idiff"):
            raise AssertionError("write down the derivative you found yourself: sympy's differentiation "
                                 "is switched off for your code in this test")
        return create(cls, *args, **kwargs)

    return unittest.mock.patch.object(sympy.Derivative, "__new__", refusing)


def _refuse(*args, **kwargs):
    raise AssertionError("compute the gradients with your own formulas: autograd is switched off "
                         "while this test calls your code")


class _NoEngine:  # autograd's engine, switched off
    def __getattr__(self, name):
        return _refuse


class _NotWhileTheRuleHolds:
    """Refuses to import torch's compiler (torch._dynamo, which torch.func and the optimizers load
    on first use) while the rule holds: loaded then, it would keep the rule's stand-ins for good.
    (Importing it beforehand would cost every kernel a second, also when nothing needs it.)"""

    def find_spec(self, name, path=None, target=None):
        if name == "torch._dynamo" or name.startswith("torch._dynamo."):
            _refuse()
        return None


def _no_autograd():
    """torch.no_grad(), and every way into autograd (backward passes, torch.autograd.grad and the
    functions built on it, forward mode, the engine itself) refuses to work."""
    import torch

    stack = contextlib.ExitStack()
    if "torch._dynamo" not in sys.modules:
        finder = _NotWhileTheRuleHolds()
        sys.meta_path.insert(0, finder)
        stack.callback(sys.meta_path.remove, finder)
    stack.enter_context(torch.no_grad())
    for owner, name, stand_in in ((torch.Tensor, "backward", _refuse), (torch.autograd, "backward", _refuse),
                                  (torch.autograd, "grad", _refuse), (torch.autograd.forward_ad, "make_dual", _refuse),
                                  (torch.autograd.variable.Variable, "_execution_engine", _NoEngine())):
        stack.enter_context(unittest.mock.patch.object(owner, name, stand_in))
    return stack


RULES = {"no differentiation": _no_differentiation, "no autograd": _no_autograd}


def differentiable(function):
    """Mark a test's function of tensors that your code may differentiate (a Hessian of it):

        newton_step(dlcourse.differentiable(lambda t: (t**2).sum()), p)

    Here nothing changes. When the grader runs the tests in a process of its own, your code
    cannot differentiate through a call into that process, so the function is sent to your
    kernel as its graph of torch operations (torch.fx) and runs there."""
    function.__wire_traced__ = True
    return function
