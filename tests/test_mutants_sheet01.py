"""Sheet 01: plausible wrong implementations of every graded function, each of which must
lose points in its own task and only there (see mutation.py)."""

from mutation import Mutant, check_mutants

SHEET = "01_sigmoid_softmax_gradient_descent"

SIGMOID = ("test_a2_sigmoid",)
SOFTMAX = ("test_a2_softmax",)
ADAM = ("test_b3_adam_corrected", "test_b3_adam_uncorrected")

MUTANTS = [
    Mutant("softmax subtracts the global maximum instead of each row's", "a2_sigmoid_softmax",
           "np.max(z, axis=axis, keepdims=True)", "np.max(z)", SOFTMAX),
    Mutant("softmax normalises along the wrong axis", "a2_sigmoid_softmax",
           "np.sum(exps, axis=axis, keepdims=True)", "np.sum(exps, axis=0, keepdims=True)", SOFTMAX),
    Mutant("softmax without the max shift (overflows)", "a2_sigmoid_softmax",
           "np.exp(z - np.max(z, axis=axis, keepdims=True))", "np.exp(z)", SOFTMAX),
    Mutant("sigmoid written naively (overflow warning for large negative x)", "a2_sigmoid_softmax",
           "return np.where(x >= 0, 1.0 / (1.0 + small), small / (1.0 + small))",
           "return 1.0 / (1.0 + np.exp(-x))", SIGMOID),
    Mutant("Adam: epsilon inside the square root", "b3_adam",
           "np.sqrt(v_hat) + eps", "np.sqrt(v_hat + eps)", ADAM),
    Mutant("Adam: bias correction of the first moment only", "b3_adam",
           "m / (1 - beta1**t), v / (1 - beta2**t)", "m / (1 - beta1**t), v", ADAM),
    Mutant("Adam: step counter starts at 0", "b3_adam",
           "m / (1 - beta1**t), v / (1 - beta2**t)", "m / (1 - beta1**(t + 1)), v / (1 - beta2**(t + 1))", ADAM),
]


def test_every_mistake_loses_points_in_its_own_task_only():
    check_mutants(SHEET, MUTANTS)
