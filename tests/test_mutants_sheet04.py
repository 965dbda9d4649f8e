"""Sheet 04: plausible wrong implementations of every graded function, each of which must
lose points in its own task and only there (see mutation.py)."""

from mutation import Mutant, check_mutants

SHEET = "04_optimizers_and_initialization"

NEURON = ("test_a1_neuron_grad",)
SGD = ("test_a2_sgd",)
ADAGRAD = ("test_a2_adagrad",)
RMSPROP = ("test_a2_rmsprop",)
ADAM = ("test_a2_adam",)
CHAIN = ("test_b1_chain_grads",)
BOUND = ("test_b2_sigmoid_chain_bound",)
VARIANCES = ("test_b4_activation_variances",)
XAVIER_VAR = ("test_b6_xavier_variance",)
DEFAULT_VAR = ("test_b6_default_init_variance",)
MLP = ("test_c1_make_mlp",)
XAVIER_INIT = ("test_c4_xavier_init",)
KAIMING_INIT = ("test_c5_kaiming_a0_init",)
NORMS = ("test_c1_layer_grad_norms",)
TRAIN = ("test_c1_train_classifier",)
PLOT = ("test_c2_plot_runs",)
OPTIMIZER = ("test_d1_make_optimizer",)
SEARCH = ("test_d3_search_learning_rates",)
RANDOM = ("test_d4_random_learning_rates",)

MUTANTS = [
    # A.1 the gradient of the neuron
    Mutant("neuron_grad forgets the 2 of the square", "a1_neuron_grad", "2.0 * (o - t)", "(o - t)", NEURON),
    Mutant("neuron_grad with the sign of the error flipped", "a1_neuron_grad", "(o - t) * o", "(t - o) * o", NEURON),
    Mutant("neuron_grad forgets the sigmoid's slope", "a1_neuron_grad", " * o * (1.0 - o)", "", NEURON),
    # A.2 the four optimizers
    Mutant("SGD climbs: + instead of -", "a2_sgd", "w = w - lr * grad(w)", "w = w + lr * grad(w)", SGD),
    Mutant("SGD one step short", "a2_sgd", "range(steps)", "range(steps - 1)", SGD),
    Mutant("SGD updates in place and appends the same array", "a2_sgd",
           "w = w - lr * grad(w)\n        path.append(w.copy())", "w -= lr * grad(w)\n        path.append(w)", SGD),
    Mutant("AdaGrad adds the gradient, not its square", "a2_adagrad", "r = r + g * g", "r = r + np.abs(g)", ADAGRAD),
    Mutant("AdaGrad forgets the past: r = g * g", "a2_adagrad", "r = r + g * g", "r = g * g", ADAGRAD),
    Mutant("AdaGrad with delta inside the root", "a2_adagrad", "(delta + np.sqrt(r))", "np.sqrt(delta + r)", ADAGRAD),
    Mutant("RMSProp with delta outside the root (as PyTorch)", "a2_rmsprop", "np.sqrt(delta + r)", "(delta + np.sqrt(r))", RMSPROP),
    Mutant("RMSProp with rho and 1 - rho swapped", "a2_rmsprop", "rho * r + (1 - rho) * g * g", "(1 - rho) * r + rho * g * g", RMSPROP),
    Mutant("RMSProp forgets the factor 1 - rho", "a2_rmsprop", "rho * r + (1 - rho) * g * g", "rho * r + g * g", RMSPROP),
    Mutant("Adam without bias correction", "a2_adam", "s / (1 - rho1**k), r / (1 - rho2**k)", "s, r", ADAM),
    Mutant("Adam's step counter starts at 0", "a2_adam", "range(1, steps + 1)", "range(steps)", ADAM),
    Mutant("Adam with delta inside the root", "a2_adam", "(np.sqrt(r_hat) + delta)", "np.sqrt(r_hat + delta)", ADAM),
    Mutant("Adam uses rho1 for the second moment", "a2_adam", "r = rho2 * r + (1 - rho2) * g * g", "r = rho1 * r + (1 - rho1) * g * g", ADAM),
    # B.1, B.2 the chain
    Mutant("chain_grads forgets the layer's input h_{i-1}", "b1_chain_grads", "grads[i] = upstream_i * h[i]", "grads[i] = upstream_i", CHAIN),
    Mutant("chain_grads forgets the weights above", "b1_chain_grads", "upstream = upstream_i * ws[i]", "upstream = upstream_i", CHAIN),
    Mutant("chain_grads takes sigma for sigma'", "b1_chain_grads", "slopes.append(out * (1.0 - out))", "slopes.append(out)", CHAIN),
    Mutant("chain_grads: ReLU slope 1 everywhere", "b1_chain_grads", "1.0 if a > 0 else 0.0", "1.0", CHAIN),
    Mutant("bound: the first layer without |x|", "b2_sigmoid_chain_bound", "bounds[0] *= abs(x)", "bounds[0] *= 1.0", BOUND),
    Mutant("bound: x instead of |x|", "b2_sigmoid_chain_bound", "abs(x)", "x", BOUND),
    # B.4, B.6 variances
    Mutant("layer variance with the fan-out", "b4_activation_variances", "widths[:-1]", "widths[1:]", VARIANCES),
    Mutant("layer variances not multiplied up", "b4_activation_variances", "np.cumprod(widths[:-1] * weight_vars)", "(widths[:-1] * weight_vars)", VARIANCES),
    Mutant("Xavier = forward condition only", "b6_xavier_variance", "2.0 / (fan_in + fan_out)", "1.0 / fan_in", XAVIER_VAR),
    Mutant("Xavier without the factor 2", "b6_xavier_variance", "2.0 / (fan_in + fan_out)", "1.0 / (fan_in + fan_out)", XAVIER_VAR),
    Mutant("default variance: bound squared, not divided by 3", "b6_default_init_variance", "bound**2 / 3.0", "bound**2", DEFAULT_VAR),
    Mutant("default variance: the gain of a = sqrt 5 forgotten", "b6_default_init_variance", "bound = gain * math.sqrt", "bound = math.sqrt", DEFAULT_VAR),
    # C.1 make_mlp, layer_grad_norms, train_classifier
    Mutant("make_mlp: activation after the output layer", "c1_make_mlp", "layers.append(nn.Linear(sizes[-1], 10))",
           "layers += [nn.Linear(sizes[-1], 10), activations[activation]()]", MLP),
    Mutant("make_mlp: always sigmoid", "c1_make_mlp", "activations[activation]()]", "nn.Sigmoid()]", MLP),
    Mutant("make_mlp ignores inputs", "c1_make_mlp", "sizes = [inputs, *hidden]", "sizes = [784, *hidden]", MLP),
    Mutant("make_mlp: KeyError instead of ValueError", "c1_make_mlp", "if activation not in activations:", "if activation is None:", MLP),
    Mutant("xavier_normal: the uniform variant", "c1_make_mlp", "nn.init.xavier_normal_(layer.weight)", "nn.init.xavier_uniform_(layer.weight)", XAVIER_INIT),
    Mutant("xavier_normal: biases set to zero too", "c1_make_mlp", "nn.init.xavier_normal_(layer.weight)",
           "nn.init.xavier_normal_(layer.weight)\n                nn.init.zeros_(layer.bias)", XAVIER_INIT),
    Mutant("kaiming_a0 with a = 1", "c1_make_mlp", "nn.init.kaiming_uniform_(layer.weight, a=0)", "nn.init.kaiming_uniform_(layer.weight, a=1)", KAIMING_INIT),
    Mutant("kaiming_a0 normal instead of uniform", "c1_make_mlp", "nn.init.kaiming_uniform_(layer.weight, a=0)", "nn.init.kaiming_normal_(layer.weight, a=0)", KAIMING_INIT),
    Mutant("grad norms of every parameter, biases too", "c1_layer_grad_norms",
           "[layer.weight.grad.norm().item() for layer in layers]", "[p.grad.norm().item() for p in model.parameters()]", NORMS),
    Mutant("squared gradient norms", "c1_layer_grad_norms", "layer.weight.grad.norm().item()", "layer.weight.grad.pow(2).sum().item()", NORMS),
    Mutant("norm of the weights, not of their gradient", "c1_layer_grad_norms", "layer.weight.grad.norm()", "layer.weight.norm()", NORMS),
    Mutant("train: the generator is created anew every epoch", "c1_train_classifier", "    for _ in range(epochs):\n        model.train()",
           "    for _ in range(epochs):\n        generator = torch.Generator().manual_seed(seed)\n        model.train()", TRAIN),
    Mutant("train: gradients never reset", "c1_train_classifier", "            optimizer.zero_grad()\n", "", TRAIN),
    Mutant("train: the last, smaller minibatch is dropped", "c1_train_classifier", "range(0, len(train_y), batch_size)",
           "range(0, len(train_y) - batch_size + 1, batch_size)", TRAIN),
    Mutant("train: 'test' accuracy on the training set", "c1_train_classifier", 'accuracy(model, data["test_x"], data["test_y"])',
           "accuracy(model, train_x, train_y)", TRAIN),
    # C.2 plots
    Mutant("plot: gradient norms on a linear axis", "c2_plot_runs", 'yscale="log", ', "", PLOT),
    Mutant("plot: epochs counted from 0", "c2_plot_runs", 'epochs = np.arange(1, len(history["test_accuracy"]) + 1)',
           'epochs = np.arange(len(history["test_accuracy"]))', PLOT),
    Mutant("plot: training instead of test accuracy", "c2_plot_runs", 'history["test_accuracy"], "o-"', 'history["train_accuracy"], "o-"', PLOT),
    # D
    Mutant("SGD with momentum", "d1_make_optimizer", "torch.optim.SGD(parameters, lr=lr)", "torch.optim.SGD(parameters, lr=lr, momentum=0.9)", OPTIMIZER),
    Mutant("Adam's default learning rate guessed as 0.01", "d1_make_optimizer", "torch.optim.Adam(parameters) if", "torch.optim.Adam(parameters, lr=0.01) if", OPTIMIZER),
    Mutant("SGD silently defaults to 0.01", "d1_make_optimizer", 'raise ValueError("SGD needs a learning rate")', "lr = 0.01", OPTIMIZER),
    Mutant("search compares test accuracies", "d3_search_learning_rates", 'run(lr)["train_accuracy"][-1]', 'run(lr)["test_accuracy"][-1]', SEARCH),
    Mutant("search takes the best epoch", "d3_search_learning_rates", 'run(lr)["train_accuracy"][-1]', 'run(lr)["train_accuracy"].max()', SEARCH),
    Mutant("random search: the learning rate itself uniform", "d4_random_learning_rates",
           "k = np.random.default_rng(seed).uniform(k_low, k_high, size=n)\n    return 10.0 ** -k",
           "return np.random.default_rng(seed).uniform(10.0 ** -k_high, 10.0 ** -k_low, size=n)", RANDOM),
    Mutant("random search ignores the seed", "d4_random_learning_rates", "default_rng(seed)", "default_rng()", RANDOM),
    Mutant("random search: whole exponents", "d4_random_learning_rates", ".uniform(k_low, k_high, size=n)", ".integers(int(k_low), int(k_high) + 1, size=n)", RANDOM),
]


def test_every_mistake_loses_points_in_its_own_task_only():
    check_mutants(SHEET, MUTANTS)
