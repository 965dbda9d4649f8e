"""dlcourse.batched trains several runs as one network: each run's history must be the one the
sheet-04 reference loop (train_classifier with make_mlp and layer_grad_norms, taken from the
solution notebook) gives for it alone.

The comparisons run in float64: there the batched matrix products and the single-run ones
differ only by rounding (about 1e-16 relative), far below the tolerances, while any real
difference (another data order, learning rate, initialization, optimizer step) changes the
accuracies and gradient norms by orders of magnitude more."""

import nbformat
import numpy as np
import pytest
import torch
from nbtools import nbgrader_meta, notebook

from dlcourse.batched import CannotBatch, agrees_with, train_runs

SHEET = "04_optimizers_and_initialization"
CELLS = ("c1_init_weights", "c1_make_mlp", "c1_layer_grad_norms", "c1_train_classifier")


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors: threads only wait for each other (on a busy machine, 20 times slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def ref():
    """init_weights, make_mlp, layer_grad_norms, accuracy and train_classifier of the solution notebook."""
    nb = nbformat.read(notebook(SHEET), as_version=4)
    sources = {nbgrader_meta(c).get("grade_id"): c.source for c in nb.cells}
    accuracy_cell = next(c.source for c in nb.cells if c.source.startswith("def accuracy("))
    namespace = {}
    exec("import math\nimport numpy as np\nimport torch\nfrom torch import nn", namespace)
    for source in (*(sources[cell] for cell in CELLS[:3]), accuracy_cell, sources[CELLS[3]]):
        exec(source, namespace)
    return namespace


def toy_data(seed=0, n_train=150, n_test=70, dtype=torch.float64):
    """Images with a learnable class signal, so accuracies move during the short runs."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 10, (n_train + n_test,), generator=generator)
    images = torch.randn(n_train + n_test, 1, 4, 5, generator=generator, dtype=dtype)
    images[:, 0, 0, :] += 0.5 * (labels[:, None] % 5 - 2)
    images[:, 0, 1, :] += labels[:, None] // 5
    return {"train_x": images[:n_train], "train_y": labels[:n_train], "test_x": images[n_train:], "test_y": labels[n_train:]}


def build(ref, hidden, activation, optimizer, lr, seed, init="default"):
    """One run as the sheet builds it: seed, make_mlp, optimizer."""
    torch.manual_seed(seed)
    model = ref["make_mlp"](hidden, activation, init, inputs=20).double()
    if optimizer == "sgd":
        return model, torch.optim.SGD(model.parameters(), lr=lr)
    return model, (torch.optim.Adam(model.parameters()) if lr is None else torch.optim.Adam(model.parameters(), lr=lr))


def single(ref, run, data, epochs, batch_size):
    model, optimizer = build(ref, *run)
    return ref["train_classifier"](model, optimizer, data, epochs, batch_size, run[4])


def batched(ref, runs, data, epochs, batch_size):
    built = [build(ref, *run) for run in runs]
    return train_runs([m for m, _ in built], [o for _, o in built], data, epochs, batch_size, [run[4] for run in runs])


def assert_same(got, want, what):
    assert set(got) == set(want), what
    for key in want:
        assert np.shape(got[key]) == np.shape(want[key]), f"{what}: {key} shape"
        np.testing.assert_allclose(got[key], want[key], rtol=1e-9, atol=1e-12, err_msg=f"{what}: {key}")


# hidden, activation, optimizer, lr (None: Adam's default), seed, init
RUNS = [
    ((6, 5), "sigmoid", "sgd", 0.5, 0, "default"),
    ((6, 5), "relu", "sgd", 0.1, 1, "default"),
    ((6, 5), "sigmoid", "adam", None, 2, "xavier_normal"),
    ((6, 5), "relu", "adam", 0.01, 0, "kaiming_a0"),
    ((6, 5), "sigmoid", "adam", 0.03, 3, "default"),
    ((7,), "relu", "adam", 0.02, 4, "default"),
    ((7,), "sigmoid", "sgd", 1.0, 0, "default"),
    ((8, 6, 5), "sigmoid", "sgd", 2.0, 5, "kaiming_a0"),
    ((8, 6, 5), "sigmoid", "sgd", 0.3, 5, "default"),
    ((8, 6, 5), "relu", "adam", 0.005, 6, "xavier_normal"),
]


@pytest.mark.parametrize("batch_size", [16, 64])
def test_every_run_equals_the_single_run_loop(ref, batch_size):
    data = toy_data()
    histories = batched(ref, RUNS, data, epochs=3, batch_size=batch_size)
    for run, history in zip(RUNS, histories):
        want = single(ref, run, data, 3, batch_size)
        assert_same(history, want, f"run {run}, batch {batch_size}")
        assert len(np.unique(want["train_accuracy"])) > 1 or run[2] == "sgd", f"run {run} should learn"
    finals = {float(h["test_accuracy"][-1]) for h in histories}
    assert len(finals) > 3, "the runs differ (else the comparison shows little)"


def test_a_run_does_not_depend_on_the_others(ref):
    data = toy_data(1)
    alone = [batched(ref, [run], data, 2, 32)[0] for run in RUNS[:5]]
    together = batched(ref, RUNS[:5], data, 2, 32)
    reordered = batched(ref, RUNS[4::-1] + RUNS[5:], data, 2, 32)[4::-1]
    for run, a, b, c in zip(RUNS, alone, together, reordered):
        assert_same(b, a, f"run {run} with others")
        assert_same(c, a, f"run {run} in another order")


def test_groups_side_by_side_equal_groups_one_after_the_other(ref):
    """Groups of different shapes train in threads (workers); each group's runs are the same."""
    data = toy_data(5)
    built = [build(ref, *run) for run in RUNS]
    models, optimizers, seeds = [m for m, _ in built], [o for _, o in built], [run[4] for run in RUNS]
    one_by_one = train_runs(models, optimizers, data, 2, 16, seeds, workers=1)
    torch.set_num_threads(2)
    try:
        side_by_side = train_runs(models, optimizers, data, 2, 16, seeds, workers=3)
        assert torch.get_num_threads() == 2, "the caller's torch thread count is restored"
    finally:
        torch.set_num_threads(1)
    for run, a, b in zip(RUNS, one_by_one, side_by_side):
        assert_same(b, a, f"run {run} in a thread")


def test_the_same_seed_shares_the_data_order_and_other_seeds_do_not(ref):
    data = toy_data(2)
    runs = [((6,), "sigmoid", "sgd", 0.5, seed, "default") for seed in (0, 0, 7)]
    first, second, third = batched(ref, runs, data, 2, 16)
    assert_same(second, first, "same settings and seed")
    assert not np.allclose(third["grad_norms"], first["grad_norms"]), "another seed gives another data order"
    assert_same(third, single(ref, runs[2], data, 2, 16), "seed 7")


def test_float32_matches_to_float32_rounding(ref):
    data = toy_data(3, dtype=torch.float32)
    torch.manual_seed(0)
    model = ref["make_mlp"]((6, 5), "sigmoid", inputs=20)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    assert agrees_with(ref["train_classifier"], model, optimizer, data, batch_size=16)
    wrong = ref["train_classifier"]

    def shuffles_once(model, optimizer, data, epochs, batch_size=64, seed=0):  # a typical bug: seed per epoch
        parts = [wrong(model, optimizer, data, 1, batch_size, seed) for _ in range(epochs)]
        return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}

    assert not agrees_with(shuffles_once, model, optimizer, data, batch_size=16)


def test_the_given_models_do_not_change(ref):
    model, optimizer = build(ref, (6,), "relu", "adam", None, 0)
    before = [p.detach().clone() for p in model.parameters()]
    train_runs([model], [optimizer], toy_data(), 1, 16)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_unsupported_runs_say_so(ref):
    model, _ = build(ref, (6,), "relu", "sgd", 0.1, 0)
    for optimizer in (torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                      torch.optim.RMSprop(model.parameters()), torch.optim.Adam(model.parameters(), amsgrad=True)):
        with pytest.raises(CannotBatch):
            train_runs([model], [optimizer], toy_data(), 1, 16)
    odd = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(20, 4), torch.nn.Tanh(), torch.nn.Linear(4, 10))
    with pytest.raises(CannotBatch):
        train_runs([odd], [torch.optim.SGD(odd.parameters(), lr=0.1)], toy_data(), 1, 16)


def test_train_cached_stores_each_run_under_its_own_key(ref, tmp_path, monkeypatch):
    import dlcourse.batched

    monkeypatch.setenv("DLCOURSE_CACHE", str(tmp_path))
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setattr(dlcourse.batched, "_TRAINED", {})
    data, trained = toy_data(4), []
    real_train_runs = dlcourse.batched.train_runs

    def counting(models, *args, **kwargs):
        trained.append(len(models))
        return real_train_runs(models, *args, **kwargs)

    monkeypatch.setattr(dlcourse.batched, "train_runs", counting)

    def runs(*numbers):
        return {n: ({"run": n}, lambda n=n: (*build(ref, *RUNS[n]), RUNS[n][4])) for n in numbers}

    first = dlcourse.batched.train_cached("toy", runs(0, 2), data, 2, 16, check=ref["train_classifier"])
    assert len(list(tmp_path.glob("toy-*.json"))) == 2 and trained == [1, 2]  # the check, then both runs
    monkeypatch.setattr(dlcourse.batched, "_TRAINED", {})  # a new session: from disk
    second = dlcourse.batched.train_cached("toy", runs(0, 1, 2), data, 2, 16)
    assert trained == [1, 2, 1], "only the missing run trains"
    for n in (0, 2):
        assert_same(second[n], first[n], f"run {n} read back")
    assert_same(second[1], single(ref, RUNS[1], data, 2, 16), "run 1 trained after the others")

    def broken():
        raise NotImplementedError

    left_out = dlcourse.batched.train_cached("toy", {"broken": ({"run": "broken"}, broken), **runs(3)}, data, 2, 16)
    assert set(left_out) == {3}, "a run that cannot be built is left to the caller"

    def shuffles_per_epoch(model, optimizer, data, epochs, batch_size=64, seed=0):
        return ref["train_classifier"](model, optimizer, data, epochs, batch_size, seed + 1)

    assert dlcourse.batched.train_cached("toy", runs(4), data, 2, 16, check=shuffles_per_epoch) == {}, (
        "a single-run loop that disagrees: nothing trains together")
