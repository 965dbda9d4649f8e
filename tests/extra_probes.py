"""Probe calls that the mistake catalogue (catalogue.py) adds to the visible tests' calls of a
graded function, where those do not tell the known mistakes apart: one statement each, run at
the end of the solution notebook (its names are there), every call of a graded function
recorded. Inputs of the catalogue's own, never a hidden test's: the catalogue, with the
reference's behaviour on them, goes to students with the handout (the JupyterLab sentence,
dlcourse/mistakes.py), so it must never hold a hidden test's input or expected value.

An entry of EXTRA is a statement, or a pair (statement, options): its calls are probed with these
options (probe._seeded), e.g. {"tolerance": "relative"} where the right answer is a tiny number
that an absolute tolerance would take for 0. BUILT holds probes whose arguments cannot travel as
data (an autograd graph, a dict keyed by id()): each is a recipe, the source of a function that
builds the arguments anew for every call. TYPED names the functions whose task states the
Python type of their result."""

SMALL_NET = "nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.Sigmoid(), nn.Sequential(nn.Linear(8, 6), nn.Sigmoid()), nn.Linear(6, 4))"

# a fixed network for the four XOR points: probabilities sigmoid(c) at the label-0 points and
# sigmoid(c + k) at the label-1 points (hidden ReLUs x1 + x2 and x1 + x2 - 1)
XOR_NET = """def _xor_net(c, k):
    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1), nn.Sigmoid(), nn.Flatten(0))
    with torch.no_grad():
        net[0].weight.fill_(1.0)
        net[0].bias.copy_(torch.tensor([0.0, -1.0]))
        net[2].weight.copy_(torch.tensor([[k, -2.0 * k]]))
        net[2].bias.fill_(c)
    return net"""

EXTRA = {
    "01_sigmoid_softmax_gradient_descent": [
        "softmax(np.array([[0.0, 800.0], [-800.0, 0.0]]))",  # exp(z - min) overflows here
        "rosenbrock_grad(np.array([-1.2, 0.7]))",  # off the parabola y = x^2 and off x = 1/2
        "adam(lambda p: 2 * p, np.array([1.0, -2.0]), 0.1, 3)",  # twice: moments kept between calls show
        "adam(lambda p: 2 * p, np.array([3.0, 0.5]), 0.1, 3)",
    ],
    "02_logistic_regression": [
        ("zeta(np.array([-45.0, -30.0]))", {"tolerance": "relative"}),  # log(1 + e^z) loses e^z there
        "plot_c1_chord(-5.0, 1.0)",
        "epochs_needed([0.4, 0.08, 0.12, 0.06, 0.03], 0.1)",  # below the threshold, then above again
        "epochs_needed([0.6, 0.25, 0.25, 0.2], 0.25)",  # errors equal to the threshold
        "epochs_needed([0.08, 0.06, 0.02], 0.1)",  # below from the first epoch on
        "dead_pixels(np.array([[0.0, 0.5, -1.0, 0.0], [0.0, -0.5, 0.0, 2.0]]))",  # a zero sum, a zero maximum
    ],
    "03_computation_graphs": [
        "xor_forward({'W_i': np.array([[0.3, -0.7], [1.1, 0.4]]), 'b_a': -0.2, 'W_o': np.array([0.9, -1.3]), 'b_o': 0.25},"
        " np.array([2.0, -1.0]))",
        *(f"{step}(lambda p: p[0] ** 2 + 3 * p[0] * p[1] - p[1] ** 2 + p[0] * p[1] ** 3, np.array([0.5, -1.0]))"
          for step in ("hessian_eigenvalues", "newton_step", "saddle_free_newton_step")),  # a Hessian with no zeros
        XOR_NET,
        "solves_xor(_xor_net(-2.0, 4.0))",
        "solves_xor(_xor_net(-2.0, 2.0))",  # probability exactly 1/2 at the label-1 points
        "solves_xor(_xor_net(-2.0, 0.0))",  # every point taken as label 0
        "success_rate([_xor_net(-2.0, 4.0), _xor_net(-2.0, 0.0)])",
    ],
    "05_activations_and_skip_connections": [
        "softplus(np.array([-4e11, -1e11, 3.0]), beta=1e-10)",  # beta x = -40: log(1 + e^-40) rounds to 0
        "elu(np.array([-1e-15, -1e-12, 2.0]), alpha=1e8)",  # exp(x) - 1 loses the digits of a tiny x
    ],
    "04_optimizers_and_initialization": [
        "rmsprop_steps(lambda w: np.array([2.0, -1.0]) * w + 1.0, np.array([0.5, -0.5]), 3, lr=0.1, rho=0.9, delta=1e-6)",
        "search_learning_rates([0.01, 0.1], lambda lr: {'train_accuracy': np.array([0.9, 10 * lr]), 'test_accuracy': np.array([0.5, lr])})",
        "activation_variances([3, 5, 2], [0.5, 0.1], 2.0)",
        "xavier_variance(20, 60)",
        "default_init_variance(30)",
        "make_mlp((3,), inputs=5)",
        "make_mlp((4, 3), 'relu', inputs=6)",
        "make_mlp((3,), init='xavier_normal', inputs=4)",
        f"init_weights({SMALL_NET}, 'xavier_normal')",
        f"init_weights({SMALL_NET}, 'kaiming_a0')",
        "random_learning_rates(4, seed=2, k_low=2.0, k_high=3.0)",
        "random_learning_rates(4, seed=2, k_low=0.5, k_high=1.5)",
    ],
}

# the visible test's small graph, and one of the catalogue's own (constants, a power, a mean)
GRAPHS = (
    """def _small_graph():
    u = torch.tensor(2.0, requires_grad=True)
    v = torch.tensor([1.0, 3.0], requires_grad=True)
    return (u * v).sum() + u, {id(u): "u", id(v): "v"}""",
    """def _loss_graph():
    w = torch.tensor([0.5, -1.0], requires_grad=True)
    b = torch.tensor(0.25, requires_grad=True)
    return ((torch.sigmoid(w * 3.0 + b) - 1.0) ** 2).mean(), {id(w): "w", id(b): "b"}""",
)

BUILT = {
    "03_computation_graphs": {"walk_autograd_graph": GRAPHS},
}

# graded functions whose visible test checks the Python type of the result (isinstance(..., int),
# "as floats", "is True"): there a numpy number is a mistake of its own (diagnosis.typed)
TYPED = {
    "02_logistic_regression": ("epochs_needed",),
    "03_computation_graphs": ("first_order_decrease", "train_xor", "solves_xor"),
}
