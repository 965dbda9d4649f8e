"""Sheet 04: plausible wrong implementations of every graded function, each of which must
lose points in its own task and only there, and correct alternatives a careful student writes,
each of which must pass every test cell (see mutation.py)."""

from mutation import Alternative, Mutant, check_alternatives, check_mutants

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
    Mutant("xavier_normal: the uniform variant", "c1_init_weights", "nn.init.xavier_normal_(layer.weight)", "nn.init.xavier_uniform_(layer.weight)", XAVIER_INIT),
    Mutant("xavier_normal: biases set to zero too", "c1_init_weights", "nn.init.xavier_normal_(layer.weight)",
           "nn.init.xavier_normal_(layer.weight)\n                nn.init.zeros_(layer.bias)", XAVIER_INIT),
    Mutant("kaiming_a0 with a = 1", "c1_init_weights", "nn.init.kaiming_uniform_(layer.weight, a=0)", "nn.init.kaiming_uniform_(layer.weight, a=1)", KAIMING_INIT),
    Mutant("kaiming_a0 normal instead of uniform", "c1_init_weights", "nn.init.kaiming_uniform_(layer.weight, a=0)", "nn.init.kaiming_normal_(layer.weight, a=0)", KAIMING_INIT),
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
    # issue 16: mistakes that passed before
    Mutant("neuron_grad takes the target as 1", "a1_neuron_grad", "2.0 * (o - t)", "2.0 * (o - 1.0)", NEURON),
    Mutant("AdaGrad with one scalar accumulator", "a2_adagrad", "r = r + g * g", "r = r + g @ g", ADAGRAD),
    Mutant("RMSProp with one scalar accumulator", "a2_rmsprop", "rho * r + (1 - rho) * g * g", "rho * r + (1 - rho) * (g @ g)", RMSPROP),
    Mutant("Adam with one scalar second moment", "a2_adam", "r = rho2 * r + (1 - rho2) * g * g", "r = rho2 * r + (1 - rho2) * (g @ g)", ADAM),
    Mutant("Adam in Kingma and Ba's efficient form with delta not rescaled", "a2_adam",
           "s_hat, r_hat = s / (1 - rho1**k), r / (1 - rho2**k)\n        w = w - lr * s_hat / (np.sqrt(r_hat) + delta)",
           "step = lr * np.sqrt(1 - rho2**k) / (1 - rho1**k)\n        w = w - step * s / (np.sqrt(r) + delta)", ADAM),
    Mutant("chain_grads by autograd (backward)", "b1_chain_grads", "    h = [float(x)]  # h_0, ..., h_n",
           "    w_t = torch.tensor(ws, requires_grad=True)\n    h_t = torch.tensor(float(x), dtype=torch.float64)\n"
           "    for k in range(len(ws)):\n        h_t = torch.sigmoid(w_t[k] * h_t) if act == 'sigmoid' else torch.relu(w_t[k] * h_t)\n"
           "    h_t.backward()\n    return w_t.grad.numpy()\n    h = [float(x)]  # h_0, ..., h_n", CHAIN),
    Mutant("chain_grads by autograd, switched back on with enable_grad", "b1_chain_grads", "    h = [float(x)]  # h_0, ..., h_n",
           "    with torch.enable_grad():\n        w_t = torch.from_numpy(ws.copy()).requires_grad_()\n"
           "        h_t = torch.tensor(float(x), dtype=torch.float64)\n        for k in range(len(ws)):\n"
           "            h_t = torch.sigmoid(w_t[k] * h_t) if act == 'sigmoid' else torch.relu(w_t[k] * h_t)\n"
           "        (grad_w,) = torch.autograd.grad(h_t, [w_t])\n    return grad_w.numpy()\n    h = [float(x)]  # h_0, ..., h_n", CHAIN),
    Mutant("chain_grads by torch.func.grad", "b1_chain_grads", "    h = [float(x)]  # h_0, ..., h_n",
           "    def output(w_t):\n        h_t = torch.tensor(float(x), dtype=torch.float64)\n        for k in range(len(ws)):\n"
           "            h_t = torch.sigmoid(w_t[k] * h_t) if act == 'sigmoid' else torch.relu(w_t[k] * h_t)\n        return h_t\n"
           "    return torch.func.grad(output)(torch.from_numpy(ws.copy())).numpy()\n    h = [float(x)]  # h_0, ..., h_n", CHAIN),
    Mutant("chain_grads: ReLU slope 1 at 0", "b1_chain_grads", "1.0 if a > 0 else 0.0", "1.0 if a >= 0 else 0.0", CHAIN),
    Mutant("bound: one factor 1/4 too many", "b2_sigmoid_chain_bound", "np.arange(1, n + 1) + 1.0", "np.arange(1, n + 1) + 2.0", BOUND),
    Mutant("bound: the factors run the wrong way", "b2_sigmoid_chain_bound", "0.25 ** (n - np.arange(1, n + 1) + 1.0)", "0.25 ** np.arange(1, n + 1)", BOUND),
    Mutant("Xavier variance as a one-element array", "b6_xavier_variance", "return 2.0 / (fan_in + fan_out)", "return np.full(1, 2.0 / (fan_in + fan_out))", XAVIER_VAR),
    Mutant("default variance as a one-element array", "b6_default_init_variance", "return bound**2 / 3.0", "return np.array([bound**2 / 3.0])", DEFAULT_VAR),
    Mutant("make_mlp without biases", "c1_make_mlp", "layers += [nn.Linear(n_in, n_out),", "layers += [nn.Linear(n_in, n_out, bias=False),", MLP),
    Mutant("make_mlp crashes (a list, not modules)", "c1_make_mlp", "model = nn.Sequential(*layers)", "model = nn.Sequential(layers)", MLP),
    Mutant("make_mlp never calls init_weights", "c1_make_mlp", "    init_weights(model, init)\n", "", MLP),
    Mutant("make_mlp: init_weights before the output layer exists", "c1_make_mlp",
           "    layers.append(nn.Linear(sizes[-1], 10))\n    model = nn.Sequential(*layers)\n    init_weights(model, init)",
           "    model = nn.Sequential(*layers)\n    init_weights(model, init)\n    model.append(nn.Linear(sizes[-1], 10))", MLP),
    Mutant("make_mlp: output layer without bias", "c1_make_mlp", "layers.append(nn.Linear(sizes[-1], 10))", "layers.append(nn.Linear(sizes[-1], 10, bias=False))", MLP),
    Mutant("init_weights walks the top level only", "c1_init_weights", "for layer in model.modules():", "for layer in model.children():", XAVIER_INIT),
    Mutant("init_weights skips the last layer", "c1_init_weights", "for layer in model.modules():",
           "for layer in [m for m in model.modules() if isinstance(m, nn.Linear)][:-1]:", XAVIER_INIT + KAIMING_INIT),
    Mutant("kaiming_a0 with the gain of a linear layer", "c1_init_weights", "nn.init.kaiming_uniform_(layer.weight, a=0)",
           "nn.init.kaiming_uniform_(layer.weight, a=0, nonlinearity='linear')", KAIMING_INIT),
    Mutant("layer_grad_norms walks the top level only", "c1_layer_grad_norms", "for m in model.modules()", "for m in model.children()", NORMS),
    Mutant("layer_grad_norms forgets Conv2d", "c1_layer_grad_norms", "(nn.Linear, nn.Conv2d)", "nn.Linear", NORMS),
    Mutant("layer_grad_norms returns a list", "c1_layer_grad_norms", "return np.array([layer.weight.grad.norm().item() for layer in layers])",
           "return [layer.weight.grad.norm().item() for layer in layers]", NORMS),
    Mutant("train: no optimizer step", "c1_train_classifier", "            optimizer.step()\n", "", TRAIN),
    Mutant("train: cross-entropy of probabilities (softmax twice)", "c1_train_classifier", "cross_entropy(scores,", "cross_entropy(scores.softmax(dim=1),", TRAIN),
    Mutant("train: counts only the last minibatch", "c1_train_classifier", "correct += (scores", "correct = (scores", TRAIN),
    Mutant("plot: accuracy axes without a title", "c2_plot_runs", 'top.set(xlabel="epoch", ylabel="test accuracy", title="Test accuracy")',
           'top.set(xlabel="epoch", ylabel="test accuracy")', PLOT),
    Mutant("plot: gradient norms over epochs counted from 0", "c2_plot_runs", "epochs = np.arange(1, len(norms) + 1)", "epochs = np.arange(len(norms))", PLOT),
    Mutant("plot: layers counted from 0", "c2_plot_runs", 'label=f"layer {layer + 1}"', 'label=f"layer {layer}"', PLOT),
    Mutant("make_optimizer: any other name gives Adam", "d1_make_optimizer", 'if name == "adam":', 'if name != "sgd":', OPTIMIZER),
    Mutant("search: the last of tied learning rates", "d3_search_learning_rates", "float(lrs[np.argmax(final)])",
           "float(lrs[len(final) - 1 - np.argmax(final[::-1])])", SEARCH),
    Mutant("search returns lists", "d3_search_learning_rates", '{"lrs": lrs, "final_train_accuracy": final,', '{"lrs": list(lrs), "final_train_accuracy": list(final),', SEARCH),
    Mutant("random search ignores k_low and k_high", "d4_random_learning_rates", ".uniform(k_low, k_high, size=n)", ".uniform(1.0, 5.0, size=n)", RANDOM),
    Mutant("random search: k uniform on [0, k_high]", "d4_random_learning_rates", ".uniform(k_low, k_high, size=n)", ".uniform(0.0, k_high, size=n)", RANDOM),
]

SOLVED_A1 = """    o = 1.0 / (1.0 + np.exp(-(w[0] * x + w[1] * y)))
    return 2.0 * (o - t) * o * (1.0 - o) * np.array([x, y], dtype=float)"""
SOLVED_SGD = """    w = np.array(w0, dtype=float)
    path = [w.copy()]
    for _ in range(steps):
        w = w - lr * grad(w)
        path.append(w.copy())
    return np.array(path)"""
SOLVED_ADAM_STEP = """        s_hat, r_hat = s / (1 - rho1**k), r / (1 - rho2**k)
        w = w - lr * s_hat / (np.sqrt(r_hat) + delta)"""
SOLVED_CHAIN = """    grads = np.zeros(len(ws))
    upstream = 1.0  # d h_n / d a_i, built from the top down
    for i in reversed(range(len(ws))):
        upstream_i = upstream * slopes[i]
        grads[i] = upstream_i * h[i]
        upstream = upstream_i * ws[i]
    return grads"""
SOLVED_PLOT = """    fig = plt.figure(figsize=(12, 3.6 * (1 + (len(runs) + 1) // 2)), layout="constrained")
    rows = 1 + (len(runs) + 1) // 2
    grid = fig.add_gridspec(rows, 2)
    top = fig.add_subplot(grid[0, :])
    for label, history in runs.items():
        epochs = np.arange(1, len(history["test_accuracy"]) + 1)
        top.plot(epochs, history["test_accuracy"], "o-", markersize=3, label=label)
    top.set(xlabel="epoch", ylabel="test accuracy", title="Test accuracy")
    top.legend(loc="best", fontsize=8)
    for number, (label, history) in enumerate(runs.items()):
        ax = fig.add_subplot(grid[1 + number // 2, number % 2])
        norms = np.asarray(history["grad_norms"])
        epochs = np.arange(1, len(norms) + 1)
        for layer in range(norms.shape[1]):
            ax.plot(epochs, norms[:, layer], label=f"layer {layer + 1}")
        ax.set(yscale="log", xlabel="epoch", ylabel="gradient norm (last batch)", title=f"Gradient norms, {label}")
        ax.legend(loc="best", fontsize=7, ncol=2)
    fig.suptitle(title)
    return fig"""
SOLVED_TRAIN_LOOP = """        order = torch.randperm(len(train_y), generator=generator).to(train_y.device)
        correct = torch.zeros((), device=train_y.device)
        for start in range(0, len(train_y), batch_size):
            index = order[start:start + batch_size]
            scores = model(train_x[index])
            loss = nn.functional.cross_entropy(scores, train_y[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            correct += (scores.argmax(dim=1) == train_y[index]).sum()
        history["grad_norms"].append(layer_grad_norms(model))
        history["train_accuracy"].append(correct.item() / len(train_y))"""

ALTERNATIVES = [
    # A
    Alternative("neuron_grad in torch (float64, the formula, no autograd)", "a1_neuron_grad", SOLVED_A1,
                "    z = torch.tensor(w[0] * x + w[1] * y, dtype=torch.float64)\n    o = torch.sigmoid(z)\n"
                "    return (2 * (o - t) * o * (1 - o)).item() * np.array([x, y], dtype=float)"),
    Alternative("neuron_grad with the sigmoid as (1 + tanh(z / 2)) / 2, per component", "a1_neuron_grad", SOLVED_A1,
                "    o = 0.5 * (1.0 + np.tanh(0.5 * (w[0] * x + w[1] * y)))\n    common = 2.0 * (o - t) * o * (1.0 - o)\n"
                "    return np.array([common * x, common * y])"),
    Alternative("SGD into a preallocated array, updated in place", "a2_sgd", SOLVED_SGD,
                "    path = np.zeros((steps + 1, len(w0)))\n    path[0] = w0\n    w = np.copy(w0).astype(float)\n"
                "    for k in range(1, steps + 1):\n        w -= lr * grad(w)\n        path[k] = w\n    return path"),
    Alternative("AdaGrad with in-place accumulator and np.square", "a2_adagrad", "r = r + g * g\n        w = w - lr / (delta + np.sqrt(r)) * g",
                "r += np.square(g)\n        w = w - lr * g / (delta + np.sqrt(r))"),
    Alternative("RMSProp with np.divide and g ** 2", "a2_rmsprop", "r = rho * r + (1 - rho) * g * g\n        w = w - lr / np.sqrt(delta + r) * g",
                "r = rho * r + (1 - rho) * g**2\n        w = w - np.divide(lr * g, np.sqrt(delta + r))"),
    Alternative("Adam in Kingma and Ba's efficient form, delta rescaled by sqrt(1 - rho2^k)", "a2_adam", SOLVED_ADAM_STEP,
                "        step = lr * np.sqrt(1 - rho2**k) / (1 - rho1**k)\n"
                "        w = w - step * s / (np.sqrt(r) + delta * np.sqrt(1 - rho2**k))"),
    Alternative("Adam, one coordinate at a time", "a2_adam", SOLVED_ADAM_STEP,
                "        w = w.copy()\n        for j in range(len(w)):\n"
                "            w[j] -= lr * (s[j] / (1 - rho1**k)) / (np.sqrt(r[j] / (1 - rho2**k)) + delta)"),
    # B
    Alternative("chain_grads as the explicit product of B.1", "b1_chain_grads", SOLVED_CHAIN,
                "    n = len(ws)\n    return np.array([np.prod([slopes[k] * ws[k] for k in range(i + 1, n)]) * slopes[i] * h[i]"
                " for i in range(n)])"),
    Alternative("chain_grads vectorised with cumprod", "b1_chain_grads", SOLVED_CHAIN,
                "    factors = np.append(np.array(slopes[1:]) * ws[1:], 1.0)\n"
                "    above = np.cumprod(factors[::-1])[::-1]\n    return above * np.array(slopes) * np.array(h[:-1])"),
    Alternative("chain_grads: the sigmoid as (1 + tanh(a / 2)) / 2", "b1_chain_grads",
                "            out = 1.0 / (1.0 + np.exp(-a))", "            out = 0.5 * (1.0 + np.tanh(0.5 * a))"),
    Alternative("chain_grads: ReLU slope with np.heaviside(a, 0)", "b1_chain_grads",
                "slopes.append(1.0 if a > 0 else 0.0)", "slopes.append(float(np.heaviside(a, 0.0)))"),
    Alternative("bound as a list comprehension over i", "b2_sigmoid_chain_bound",
                "    bounds = 0.25 ** (n - np.arange(1, n + 1) + 1.0)\n    bounds[0] *= abs(x)\n    return bounds",
                "    return np.array([(abs(x) if i == 1 else 1.0) / 4 ** (n - i + 1) for i in range(1, n + 1)])"),
    Alternative("layer variances in a loop", "b4_activation_variances", "    return input_var * np.cumprod(widths[:-1] * weight_vars)",
                "    out, var = [], input_var\n    for n_in, var_w in zip(widths[:-1], weight_vars):\n"
                "        var = n_in * var_w * var\n        out.append(var)\n    return np.array(out)"),
    Alternative("Xavier variance from xavier_uniform_'s bound", "b6_xavier_variance", "    return 2.0 / (fan_in + fan_out)",
                "    bound = math.sqrt(6.0 / (fan_in + fan_out))\n    return bound**2 / 3"),
    Alternative("default variance from calculate_gain", "b6_default_init_variance",
                "    gain = math.sqrt(2.0 / (1.0 + 5.0))  # calculate_gain(\"leaky_relu\", a = sqrt(5))",
                "    gain = nn.init.calculate_gain(\"leaky_relu\", math.sqrt(5))"),
    Alternative("default variance written out: 1 / (3 fan_in)", "b6_default_init_variance", "    return bound**2 / 3.0", "    return 1 / (3 * fan_in)"),
    # C
    Alternative("make_mlp with an OrderedDict of named layers", "c1_make_mlp",
                "    layers = [nn.Flatten()]\n    sizes = [inputs, *hidden]\n    for n_in, n_out in zip(sizes[:-1], sizes[1:]):\n"
                "        layers += [nn.Linear(n_in, n_out), activations[activation]()]\n    layers.append(nn.Linear(sizes[-1], 10))\n"
                "    model = nn.Sequential(*layers)",
                "    from collections import OrderedDict\n    named, sizes = [(\"flatten\", nn.Flatten())], [inputs, *hidden]\n"
                "    for k in range(len(hidden)):\n        named += [(f\"linear{k}\", nn.Linear(sizes[k], sizes[k + 1])), (f\"act{k}\", activations[activation]())]\n"
                "    named.append((\"out\", nn.Linear(sizes[-1], 10)))\n    model = nn.Sequential(OrderedDict(named))"),
    Alternative("init_weights through model.apply", "c1_init_weights",
                "    for layer in model.modules():\n        if isinstance(layer, nn.Linear):\n            if init == \"xavier_normal\":\n"
                "                nn.init.xavier_normal_(layer.weight)\n            elif init == \"kaiming_a0\":\n"
                "                nn.init.kaiming_uniform_(layer.weight, a=0)",
                "    def set_weight(module):\n        if type(module) is nn.Linear:\n"
                "            (nn.init.xavier_normal_ if init == \"xavier_normal\" else nn.init.kaiming_uniform_)(module.weight)\n"
                "    model.apply(set_weight)"),
    Alternative("init_weights with the gains written out", "c1_init_weights", "nn.init.kaiming_uniform_(layer.weight, a=0)",
                "nn.init.kaiming_uniform_(layer.weight, a=0, mode=\"fan_in\", nonlinearity=\"relu\")"),
    Alternative("init_weights: xavier_normal_ with gain=1.0 under no_grad", "c1_init_weights", "nn.init.xavier_normal_(layer.weight)",
                "with torch.no_grad():\n                    nn.init.xavier_normal_(layer.weight, gain=1.0)"),
    Alternative("layer_grad_norms with torch.linalg.norm and a float64 array", "c1_layer_grad_norms",
                "    return np.array([layer.weight.grad.norm().item() for layer in layers])",
                "    return np.asarray([float(torch.linalg.norm(layer.weight.grad)) for layer in layers], dtype=np.float64)"),
    Alternative("train: zero_grad first, hits counted as Python ints, permutation indexed on the CPU", "c1_train_classifier",
                SOLVED_TRAIN_LOOP,
                "        order = torch.randperm(len(train_y), generator=generator)\n        correct = 0\n"
                "        for batch in torch.split(order, batch_size):\n            optimizer.zero_grad()\n"
                "            images, labels = train_x[batch.to(train_x.device)], train_y[batch.to(train_y.device)]\n"
                "            scores = model(images)\n            nn.functional.cross_entropy(scores, labels, reduction=\"mean\").backward()\n"
                "            optimizer.step()\n            correct += int((scores.detach().argmax(1) == labels).sum())\n"
                "        history[\"grad_norms\"].append(layer_grad_norms(model))\n"
                "        history[\"train_accuracy\"].append(correct / len(train_y))"),
    Alternative("plot_runs on a row of subplots, with a chance-level line", "c2_plot_runs", "    fig.suptitle(title)\n    return fig",
                "    top.axhline(0.1, color=\"grey\", linestyle=\":\", label=\"chance (10 classes)\")\n    top.legend(loc=\"best\", fontsize=8)\n"
                "    fig.suptitle(title)\n    return fig"),
    Alternative("plot_runs on one row of plt.subplots, with semilogy", "c2_plot_runs", SOLVED_PLOT,
                "    fig, axes = plt.subplots(1, 1 + len(runs), figsize=(4 * (1 + len(runs)), 4), squeeze=False)\n"
                "    top, others = axes[0, 0], axes[0, 1:]\n"
                "    for label, history in runs.items():\n"
                "        top.plot(range(1, len(history[\"test_accuracy\"]) + 1), history[\"test_accuracy\"], label=label)\n"
                "    top.set_title(\"test accuracy\")\n    top.set_xlabel(\"epoch\")\n    top.set_ylabel(\"accuracy\")\n    top.legend()\n"
                "    for ax, (label, history) in zip(others, runs.items()):\n"
                "        for k, column in enumerate(np.transpose(history[\"grad_norms\"]), start=1):\n"
                "            ax.semilogy(np.arange(1, len(column) + 1), column, label=f\"layer {k}\")\n"
                "        ax.set_title(label)\n        ax.set_xlabel(\"epoch\")\n        ax.set_ylabel(\"norm of dL/dW\")\n        ax.legend()\n"
                "    fig.suptitle(title)\n    return fig"),
    Alternative("make_optimizer with a dict of keyword arguments", "d1_make_optimizer",
                "        return torch.optim.Adam(parameters) if lr is None else torch.optim.Adam(parameters, lr=lr)",
                "        return torch.optim.Adam(parameters, **({} if lr is None else {\"lr\": lr}))"),
    Alternative("make_optimizer: Adam's default learning rate written out", "d1_make_optimizer",
                "        return torch.optim.Adam(parameters) if lr is None else torch.optim.Adam(parameters, lr=lr)",
                "        return torch.optim.Adam(parameters, lr=1e-3 if lr is None else lr)"),
    Alternative("search in a loop with a strict comparison", "d3_search_learning_rates",
                "    final = np.array([run(lr)[\"train_accuracy\"][-1] for lr in lrs])\n"
                "    return {\"lrs\": lrs, \"final_train_accuracy\": final, \"best_lr\": float(lrs[np.argmax(final)])}",
                "    final, best = [], None\n    for lr in lrs:\n        final.append(float(run(lr)[\"train_accuracy\"][-1]))\n"
                "        if best is None or final[-1] > final[best]:\n            best = len(final) - 1\n"
                "    return {\"lrs\": lrs, \"final_train_accuracy\": np.array(final), \"best_lr\": float(lrs[best])}"),
    Alternative("random search: 10 ** rng.uniform(-k_high, -k_low)", "d4_random_learning_rates",
                "    k = np.random.default_rng(seed).uniform(k_low, k_high, size=n)\n    return 10.0 ** -k",
                "    rng = np.random.default_rng(seed)\n    return 10 ** rng.uniform(-k_high, -k_low, size=n)"),
    Alternative("random search: np.power with rng.random", "d4_random_learning_rates",
                "    k = np.random.default_rng(seed).uniform(k_low, k_high, size=n)\n    return 10.0 ** -k",
                "    rng = np.random.default_rng(seed)\n    return np.power(10.0, -(k_low + (k_high - k_low) * rng.random(n)))"),
    Alternative("random search: one draw at a time", "d4_random_learning_rates",
                "    k = np.random.default_rng(seed).uniform(k_low, k_high, size=n)\n    return 10.0 ** -k",
                "    rng = np.random.default_rng(seed)\n    return np.array([10 ** -rng.uniform(k_low, k_high) for _ in range(n)])"),
]


def test_every_mistake_loses_points_in_its_own_task_only():
    check_mutants(SHEET, MUTANTS, ALTERNATIVES)  # their rounds run along, for the next test


def test_every_correct_alternative_passes_every_test():
    check_alternatives(SHEET, ALTERNATIVES, MUTANTS)
