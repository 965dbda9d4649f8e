"""Gradient checks by central finite differences.

A derivative you derived by hand can be checked numerically:

    df/dx_i  ~  (f(x + h e_i) - f(x - h e_i)) / (2 h)

The error of this estimate shrinks like h**2, so with h = 1e-6 and float64 it agrees with the
exact gradient to about 1e-8 (relative) for smooth functions.
"""

import numpy as np


def numerical_gradient(f, x, h=1e-6):
    """Central-difference estimate of the gradient (or Jacobian) of ``f`` at ``x``.

    ``f`` maps an array of shape ``x.shape`` to a scalar or to an array. The result has shape
    ``f(x).shape + x.shape``: for a scalar ``f`` that is the gradient, for a vector-valued
    ``f`` it is the Jacobian (row i = gradient of output i).
    """
    x = np.asarray(x, dtype=float)
    out_shape = np.shape(f(x))
    jac = np.zeros(out_shape + x.shape)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = h
        diff = (np.asarray(f(x + step), dtype=float) - np.asarray(f(x - step), dtype=float)) / (2 * h)
        jac[(...,) + i] = diff
    return jac


def check_gradient(f, grad, x, h=1e-6, rtol=1e-5, atol=1e-7):
    """Raise an AssertionError that says where ``grad`` disagrees with finite differences.

    Returns nothing: a test cell may end with this check, and nbgrader would read a returned
    number there as the cell's partial credit.
    """
    x = np.asarray(x, dtype=float)
    expected = numerical_gradient(f, x, h)
    got = np.asarray(grad(x), dtype=float)
    if got.shape != expected.shape:
        raise AssertionError(
            f"the gradient has shape {got.shape}, but finite differences give shape "
            f"{expected.shape}: return one partial derivative per input entry"
        )
    if not np.allclose(got, expected, rtol=rtol, atol=atol):
        worst = np.unravel_index(np.argmax(np.abs(got - expected)), got.shape)
        raise AssertionError(
            f"gradient at x = {x.tolist()} is {got.tolist()}, but finite differences give "
            f"{expected.tolist()} (largest difference at index {tuple(int(i) for i in worst)})"
        )
