"""Train several runs of one network shape together, as one batched network.

    histories = train_runs(models, optimizers, data, epochs, batch_size=64, seeds=[0, 1, 2])

Each run is a ``(model, optimizer, seed)`` as a single-run loop (the sheet's ``train_classifier``)
takes them: a model from ``make_mlp`` (Flatten, then Linear and sigmoid or ReLU layers, then a
Linear), ``torch.optim.SGD`` or ``torch.optim.Adam`` (no momentum, weight decay or other extras;
any learning rate) and a seed for the data order. Runs whose layers have the same shapes train as
one network: the weights of layer k of R runs are stacked into one (R, out, in) tensor, and one
``torch.baddbmm`` computes that layer for all R runs. Everything else stays per run: the initial
weights (copied from the given models), the activation, the learning rate, the optimizer state
and the data order (each run draws its own ``torch.randperm`` from
``torch.Generator().manual_seed(seed)``). So each run's history (train and test accuracy per
epoch, gradient norm of each layer after the epoch's last minibatch) is the one
``train_classifier`` returns for it, up to float rounding, whatever else trains with it.

When all runs share one seed they see the same images, and the first layer is one matrix
product for all of them (twice as fast on a CPU as one per run); its float32 rounding then
depends on how many runs train together (about 1e-7 relative). With different seeds a run's
numbers are bit for bit the same alone or with others. SGD updates the stacks; Adam is
PyTorch's own fused implementation, called per run.

On a GPU a small network spends its time launching kernels, not computing; there each
training step is also captured once as a CUDA graph and replayed (not yet run on a GPU). The
given models are not changed. ``CannotBatch`` says that a run is of a kind this module does not handle: train that one
with the single-run loop.
"""

import copy
import json
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from torch import nn
from torch.optim.adam import adam as adam_step  # PyTorch's functional Adam

from dlcourse.cache import load_run, save_run

ADAM_DEFAULTS = {"betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0, "amsgrad": False, "maximize": False}
SGD_DEFAULTS = {"momentum": 0, "dampening": 0, "weight_decay": 0, "nesterov": False, "maximize": False}
ACTIVATIONS = {nn.Sigmoid: "sigmoid", nn.ReLU: "relu"}


_TRAINED = {}  # (name, key) -> history of the runs trained together in this session


class CannotBatch(ValueError):
    """A model or optimizer that train_runs does not handle (train it with the single-run loop)."""


def train_runs(models, optimizers, data, epochs, batch_size=64, seeds=0, workers=None):
    """One history per run, as train_classifier(model, optimizer, data, epochs, batch_size, seed)
    returns it; runs with the same layer shapes train together. ``seeds``: one per run, or one for all.
    ``workers``: how many groups (runs of one shape) train at the same time, each in its own thread
    on one core; by default as many as PyTorch may use threads on a CPU (torch.get_num_threads()),
    one at a time on a GPU."""
    seeds = list(seeds) if np.ndim(seeds) else [int(seeds)] * len(models)
    runs = [_describe(model, optimizer) for model, optimizer in zip(models, optimizers, strict=True)]
    groups = defaultdict(list)
    for number, run in enumerate(runs):
        groups[run["shapes"]].append(number)
    jobs = []
    for numbers in groups.values():
        numbers.sort(key=lambda n: runs[n]["optimizer"] != "sgd")  # SGD runs first, then Adam: one slice each
        jobs.append((numbers, [dict(runs[n], seed=seeds[n]) for n in numbers]))
    jobs.sort(key=lambda job: -_work(job[1]))  # the longest first, so that no core idles at the end
    device = runs[0]["linears"][0].weight.device if runs else torch.device("cpu")
    if workers is None:
        workers = 1 if device.type == "cuda" else torch.get_num_threads()
    trained = _in_threads(lambda group: _train_group(group, data, epochs, batch_size), [g for _, g in jobs], workers)
    histories = [None] * len(models)
    for (numbers, _), group_histories in zip(jobs, trained):
        for number, history in zip(numbers, group_histories):
            histories[number] = history
    return histories


def _work(group):
    """Multiply-adds per image of a group's forward pass (a measure of its training time)."""
    return len(group) * sum(outputs * inputs for outputs, inputs in group[0]["shapes"])


def _in_threads(function, items, workers):
    """[function(item) for item in items], up to ``workers`` at once in threads. PyTorch's operations
    release Python's lock, so threads use several cores; while they run, each operation runs on one
    torch thread (the small networks' steps are too short to share among cores)."""
    workers = min(workers, len(items))
    if workers <= 1:
        return [function(item) for item in items]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(function, items))
    finally:
        torch.set_num_threads(threads)


def _describe(model, optimizer):
    """The layers, activation and optimizer settings of one run, or CannotBatch."""
    layers = list(model) if isinstance(model, nn.Sequential) else []
    linears = layers[1::2]
    activations = {ACTIVATIONS.get(type(layer)) for layer in layers[2:-1:2]}
    if (not layers or not isinstance(layers[0], nn.Flatten) or len(layers) % 2 != 0
            or not all(isinstance(layer, nn.Linear) and layer.bias is not None for layer in linears)
            or None in activations or len(activations) > 1):
        raise CannotBatch("train_runs takes Flatten, then Linear and one activation (sigmoid or ReLU), then Linear")
    if set(optimizer.state_dict()["state"]) or len(optimizer.param_groups) != 1:
        raise CannotBatch("train_runs needs a fresh optimizer with one parameter group")
    group = optimizer.param_groups[0]
    if list(group["params"]) != [p for layer in linears for p in (layer.weight, layer.bias)]:
        raise CannotBatch("the optimizer must hold the model's parameters, in layer order")
    kinds = {torch.optim.SGD: ("sgd", SGD_DEFAULTS), torch.optim.Adam: ("adam", ADAM_DEFAULTS)}
    kind, defaults = kinds.get(type(optimizer), (None, {}))
    if kind is None or any(group[key] != value for key, value in defaults.items()):
        raise CannotBatch("train_runs handles torch.optim.SGD and torch.optim.Adam with their default options")
    return {"shapes": tuple(tuple(layer.weight.shape) for layer in linears), "activation": next(iter(activations), "sigmoid"),
            "optimizer": kind, "lr": float(group["lr"]), "linears": linears}


def _stack(group):
    """Leaf tensors [W1, b1, W2, b2, ...], each (R, ...): the runs' parameters, copied."""
    layers = zip(*(run["linears"] for run in group))
    return [torch.stack([getattr(layer, name).detach() for layer in per_run]).clone().requires_grad_()
            for per_run in layers for name in ("weight", "bias")]


def forward(params, x, relu):
    """Scores (R, B, 10) of all runs. x: (R, B, inputs), or (B, inputs) when all runs see the same
    images; relu: (R, 1, 1) True where a run uses ReLU (else sigmoid), or one bool for all runs."""
    h = x
    for layer in range(0, len(params), 2):
        weight, bias = params[layer], params[layer + 1]
        if h.dim() == 2:  # the same images for every run: one matrix product for all of them
            runs, outputs, inputs = weight.shape
            h = torch.addmm(bias.reshape(-1), h, weight.reshape(-1, inputs).t()).view(len(h), runs, outputs).transpose(0, 1)
        else:
            h = torch.baddbmm(bias.unsqueeze(1), h, weight.transpose(1, 2))
        if layer + 2 < len(params):
            h = _activate(h, relu)
    return h


def _activate(h, relu):
    if isinstance(relu, bool):
        return h.relu() if relu else h.sigmoid()
    return torch.where(relu, h.relu(), h.sigmoid())


class _Optimizers:
    """SGD and Adam on stacked parameters, each run with its own learning rate and state. Runs are
    ordered SGD first, then Adam. SGD (p - lr g) updates the SGD runs' slice of each stack at once;
    Adam is PyTorch's own fused implementation (torch.optim.adam.adam, one kernel per run and
    step), called per run on its rows of the stacks, with its own moments and step counts."""

    def __init__(self, params, group):
        self.split = [run["optimizer"] for run in group].count("sgd")
        lr = torch.tensor([run["lr"] for run in group], dtype=params[0].dtype, device=params[0].device)
        self.sgd_lr = [lr[:self.split].view(-1, *[1] * (p.dim() - 1)) for p in params]
        self.adam = [{"lr": run["lr"], "exp_avgs": [torch.zeros_like(p[r]) for p in params],
                      "exp_avg_sqs": [torch.zeros_like(p[r]) for p in params],
                      "state_steps": [torch.zeros((), dtype=torch.float32, device=p.device) for p in params]}
                     for r, run in enumerate(group) if r >= self.split]

    @torch.no_grad()
    def update(self, params, grads):
        whole = self.split == len(params[0])  # all runs SGD: no slicing (small networks: every op counts)
        for param, grad, lr in zip(params, grads, self.sgd_lr):
            if whole:
                param.addcmul_(lr, grad, value=-1)
            elif self.split:
                param[:self.split].addcmul_(lr, grad[:self.split], value=-1)
        if self.adam:  # the fused kernel reads memory in order: a transposed gradient would be misread
            grads = [g.contiguous() for g in grads]
        for r, state in enumerate(self.adam, start=self.split):
            adam_step([p[r] for p in params], [g[r] for g in grads], state["exp_avgs"], state["exp_avg_sqs"],
                      [], state["state_steps"], fused=True, amsgrad=False, beta1=ADAM_DEFAULTS["betas"][0],
                      beta2=ADAM_DEFAULTS["betas"][1], lr=state["lr"], weight_decay=0,
                      eps=ADAM_DEFAULTS["eps"], maximize=False)


def _train_group(group, data, epochs, batch_size):
    params = _stack(group)
    device, dtype = params[0].device, params[0].dtype
    activations = {run["activation"] for run in group}
    relu = (activations == {"relu"}) if len(activations) == 1 else torch.tensor(
        [run["activation"] == "relu" for run in group], device=device).view(-1, 1, 1)
    optimizers = _Optimizers(params, group)
    train_x, train_y = data["train_x"].to(dtype).flatten(1), data["train_y"]
    generators = [torch.Generator().manual_seed(run["seed"]) for run in group]
    shared = len({run["seed"] for run in group}) == 1  # one data order for all runs
    correct = torch.zeros(len(group), dtype=torch.long, device=device)

    def step(index):
        """One minibatch for every run: forward, backward, update; returns the weight gradients."""
        x, y = train_x[index], train_y[index]
        scores = forward(params, x, relu)
        y = y.expand(len(group), -1)
        loss = nn.functional.cross_entropy(scores.transpose(1, 2), y, reduction="none").mean(dim=1).sum()
        grads = torch.autograd.grad(loss, params)
        optimizers.update(params, grads)
        correct.add_((scores.argmax(dim=2) == y).sum(dim=1))
        return grads[0::2]

    replay = _graphed(step, batch_size, len(group) if not shared else None, device)
    history = {"train_accuracy": [], "test_accuracy": [], "grad_norms": []}
    for _ in range(epochs):
        orders = torch.stack([torch.randperm(len(train_y), generator=g) for g in generators]).to(device)
        correct.zero_()
        for start in range(0, len(train_y), batch_size):
            index = orders[0, start:start + batch_size] if shared else orders[:, start:start + batch_size]
            grads = replay(index) if index.shape[-1] == batch_size else step(index)
        history["grad_norms"].append(torch.stack([g.flatten(1).norm(dim=1) for g in grads], dim=1).tolist())
        history["train_accuracy"].append([c / len(train_y) for c in correct.tolist()])
        history["test_accuracy"].append(_accuracy(params, relu, data["test_x"].to(dtype).flatten(1), data["test_y"]))
    return [{key: np.array([per_epoch[run] for per_epoch in values]) for key, values in history.items()}
            for run in range(len(group))]


@torch.no_grad()
def _accuracy(params, relu, images, labels, batch_size=2_000):
    correct = sum((forward(params, images[i:i + batch_size], relu).argmax(dim=2) == labels[i:i + batch_size]).sum(dim=1)
                  for i in range(0, len(labels), batch_size))
    return [c / len(labels) for c in correct.tolist()]


def _graphed(step, batch_size, runs, device, warmup=3):
    """``step`` itself off the GPU; on a GPU, a function that replays ``step`` as a CUDA graph
    (captured after a few eager steps on a side stream, as CUDA graphs need)."""
    if device.type != "cuda":
        return step
    shape = (batch_size,) if runs is None else (runs, batch_size)
    static_index = torch.zeros(shape, dtype=torch.long, device=device)
    state = {"graph": None, "eager": 0}

    def replay(index):
        static_index.copy_(index)
        if state["graph"] is None and state["eager"] < warmup:
            state["eager"] += 1
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                grads = step(static_index)
            torch.cuda.current_stream().wait_stream(stream)
            return grads
        if state["graph"] is None:  # capturing records the step without running it; replay runs it
            state["graph"] = torch.cuda.CUDAGraph()
            with torch.cuda.graph(state["graph"]):
                state["grads"] = step(static_index)
        state["graph"].replay()
        return state["grads"]

    return replay


def agrees_with(train_classifier, model, optimizer, data, batch_size=64, seed=0, batches=3, epochs=2):
    """Whether ``train_classifier`` (a single-run loop) and train_runs give the same history for
    copies of ``model`` and ``optimizer`` on the first few minibatches of ``data`` (float32 tolerance)."""
    small = {"train_x": data["train_x"][:batches * batch_size], "train_y": data["train_y"][:batches * batch_size],
             "test_x": data["test_x"][:500], "test_y": data["test_y"][:500]}
    copies = [copy.deepcopy(model) for _ in range(2)]
    optimizers = [type(optimizer)(c.parameters(), **optimizer.defaults) for c in copies]
    single = train_classifier(copies[0], optimizers[0], small, epochs, batch_size, seed)
    batched = train_runs(copies[1:], optimizers[1:], small, epochs, batch_size, [seed])[0]
    return all(np.shape(single[key]) == np.shape(batched[key])
               and np.allclose(single[key], batched[key], rtol=1e-3, atol=1e-6) for key in batched)


def train_cached(name, runs, data, epochs, batch_size=64, check=None):
    """Histories of ``runs`` (label -> (key, build); ``build()`` returns model, optimizer, seed),
    each looked up under its own ``name`` and ``key``: in this session's memory, then in the disk
    cache (dlcourse.cache). The missing ones train together (train_runs) and are stored, each
    under its own key. Runs that cannot be built or batched are left out (train them alone, as
    before); with ``check`` (the single-run loop), so are all missing runs unless ``check`` gives
    the same history as train_runs on a few minibatches (agrees_with)."""
    found, missing = {}, {}
    for label, (key, build) in runs.items():
        memory_key = (name, json.dumps(key, sort_keys=True, default=str))
        found[label] = _TRAINED.get(memory_key) or load_run(name, key)
        if found[label] is None:
            missing[label] = memory_key, key, build
    found = {label: history for label, history in found.items() if history is not None}
    built = {}
    for label, (_, _, build) in missing.items():
        try:
            model, optimizer, seed = build()
            _describe(model, optimizer)
        except Exception:  # noqa: BLE001 (trained alone later, where the error is shown)
            continue
        built[label] = model, optimizer, seed
    if built and check is not None:
        model, optimizer, seed = next(iter(built.values()))
        built = built if agrees_with(check, model, optimizer, data, batch_size, seed) else {}
    if not built:
        return found
    models, optimizers, seeds = zip(*built.values())
    for label, history in zip(built, train_runs(models, optimizers, data, epochs, batch_size, seeds)):
        memory_key, key, _ = missing[label]
        _TRAINED[memory_key] = found[label] = history
        save_run(name, key, history)
    return found
