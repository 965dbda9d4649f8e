"""Benchmark for sheet 04: one training epoch of its two networks, and the sheet in full mode.

    .venv/bin/python benchmarks/sheet04_training_time.py               # epochs and run-steps (a few minutes)
    .venv/bin/python benchmarks/sheet04_training_time.py --dataloader  # also a torchvision DataLoader epoch
    .venv/bin/python benchmarks/sheet04_training_time.py --sheet       # also the whole sheet in full mode

Per run-step times compare one run trained alone (the sheet's train_classifier) with R runs
trained together by dlcourse.batched (R = 1, 4, 10, 12; the sheet's runs share seed 0, hence
their data order), repeated; min and median are printed.
The epochs use the sheet's own reference code (make_mlp, train_classifier) on full-size data:
the real FashionMNIST / CIFAR-10 files when they are in the data folder, otherwise random
tensors of the real shapes (the time of an epoch does not depend on the pixel values).
``--sheet`` runs every cell of the solution notebook as in JupyterLab, with such random tensors
where the real data are missing and an empty run cache, and prints the time of each part.
These are measurements on this machine, not tests; other work on the machine inflates them.
"""

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from nbtools import notebook, notebook_namespace  # noqa: E402

import dlcourse.data  # noqa: E402
from dlcourse.batched import train_runs  # noqa: E402

SHEET = "04_optimizers_and_initialization"
SIZES = {"fashionmnist": {"train": 60_000, "test": 10_000}, "cifar10": {"train": 50_000, "test": 10_000}}
real_load_dataset = dlcourse.data.load_dataset


def load_or_random(name, split="train", classes=None, limit=None):
    """The real data set if it is on this machine, else random tensors of its real shape."""
    key = name.lower().replace("-", "").replace("_", "")
    try:
        return real_load_dataset(name, split, classes, limit)
    except dlcourse.data.DataUnavailable:
        if key not in SIZES:
            raise
    n = min(limit or SIZES[key][split], SIZES[key][split])
    _, shape, classes_count = dlcourse.data.DATASETS[key]
    generator = torch.Generator().manual_seed(0 if split == "train" else 1)
    return torch.rand(n, *shape, generator=generator), torch.randint(0, classes_count, (n,), generator=generator)


def which_data(name):
    try:
        real_load_dataset(name, "test", limit=1)
        return "real files"
    except dlcourse.data.DataUnavailable:
        return "random tensors of the real shape"


def epoch_time(ns, model, optimizer, data, batch_size):
    start = time.perf_counter()
    ns["train_classifier"](model, optimizer, data, 1, batch_size)
    return time.perf_counter() - start


def time_epochs(ns):
    fashion, _ = ns["load_tensors"]("fashionmnist")
    torch.manual_seed(0)
    deepest = ns["make_mlp"]((50, 30, 30, 30)).to(ns["DEVICE"])
    seconds = epoch_time(ns, deepest, torch.optim.SGD(deepest.parameters(), lr=0.005), fashion, 64)
    print(f"FashionMNIST ({which_data('fashionmnist')}), 784-50-30-30-30-10 sigmoid, SGD, batch 64, "
          f"60 000 images: {seconds:.2f} s per epoch (with the test-set evaluation)")
    for images in (50_000, 10_000):
        cifar, _ = ns["load_tensors"]("cifar10", train_limit=images)
        torch.manual_seed(0)
        net = ns["make_mlp"]((256, 128), "relu", inputs=3 * 32 * 32).to(ns["DEVICE"])
        seconds = epoch_time(ns, net, torch.optim.Adam(net.parameters()), cifar, 64)
        print(f"CIFAR-10 ({which_data('cifar10')}), 3072-256-128-10 ReLU, Adam, batch 64, "
              f"{images} images: {seconds:.2f} s per epoch (with the test-set evaluation)")


def run_step_times(ns, data, build, steps, runs=(1, 4, 10, 12), repeats=3):
    """Seconds per run-step (one minibatch of one run), alone and batched: {label: [times]}."""
    batch = 64
    small = {"train_x": data["train_x"][:steps * batch], "train_y": data["train_y"][:steps * batch],
             "test_x": data["test_x"][:batch], "test_y": data["test_y"][:batch]}
    times = {}
    for _ in range(repeats):
        model, optimizer = build(0)
        start = time.perf_counter()
        ns["train_classifier"](model, optimizer, small, 1, batch)
        times.setdefault("alone (train_classifier)", []).append((time.perf_counter() - start) / steps)
        for r in runs:
            models, optimizers = zip(*(build(seed) for seed in range(r)))
            start = time.perf_counter()
            train_runs(models, optimizers, small, 1, batch, seeds=0)
            times.setdefault(f"batched, R = {r}", []).append((time.perf_counter() - start) / (steps * r))
    return times


def time_run_steps(ns):
    fashion, _ = ns["load_tensors"]("fashionmnist")
    cifar, _ = ns["load_tensors"]("cifar10", train_limit=10_000)
    device = ns["DEVICE"]

    def deepest(seed):
        torch.manual_seed(seed)
        model = ns["make_mlp"]((50, 30, 30, 30)).to(device)
        return model, torch.optim.SGD(model.parameters(), lr=0.005)

    def cifar_net(seed):
        torch.manual_seed(seed)
        model = ns["make_mlp"]((256, 128), "relu", inputs=3 * 32 * 32).to(device)
        return model, torch.optim.Adam(model.parameters())

    for title, data, build, steps in (("784-50-30-30-30-10 sigmoid, SGD", fashion, deepest, 300),
                                      ("3072-256-128-10 ReLU, Adam", cifar, cifar_net, 40)):
        print(f"per run-step, batch 64, {title} ({steps} steps; min / median of 3, ms):")
        for label, seconds in run_step_times(ns, data, build, steps).items():
            print(f"    {label:26s} {1e3 * min(seconds):6.3f} / {1e3 * sorted(seconds)[1]:6.3f}")


def time_dataloader():
    """For comparison: one epoch of the deepest net fed by a DataLoader that converts PIL images."""
    from torchvision import datasets, transforms

    data = datasets.FakeData(60_000, (1, 28, 28), 10, transform=transforms.ToTensor())
    loader = torch.utils.data.DataLoader(data, batch_size=64, shuffle=True)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 50), torch.nn.Sigmoid(), torch.nn.Linear(50, 30),
                                torch.nn.Sigmoid(), torch.nn.Linear(30, 30), torch.nn.Sigmoid(), torch.nn.Linear(30, 30),
                                torch.nn.Sigmoid(), torch.nn.Linear(30, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.005)
    start = time.perf_counter()
    for images, labels in loader:
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(images), labels).backward()
        optimizer.step()
    print(f"the same epoch with a torchvision DataLoader and ToTensor: {time.perf_counter() - start:.2f} s")


def time_sheet():
    """Every cell of the solution in full mode; the parts are timed from their headings."""
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt
    import nbformat
    from nbtools import grading_mode, is_test_cell

    nb = nbformat.read(notebook(SHEET), as_version=4)
    namespace, part, parts, cells = {"__name__": "__notebook__"}, "setup", {}, []
    cwd = os.getcwd()
    os.chdir(notebook(SHEET).parent)
    try:
        with grading_mode(False):
            for cell in nb.cells:
                if cell.cell_type == "markdown" and cell.source.startswith("## Part"):
                    part = cell.source.splitlines()[0].removeprefix("## ")
                if cell.cell_type != "code" or is_test_cell(cell):
                    continue
                start = time.perf_counter()
                exec(compile(cell.source, "cell", "exec"), namespace)
                plt.close("all")
                parts[part] = parts.get(part, 0.0) + time.perf_counter() - start
                cells.append((time.perf_counter() - start, cell.source.splitlines()[0][:70]))
    finally:
        os.chdir(cwd)
    for name, seconds in parts.items():
        print(f"    {name}: {seconds:.1f} s")
    print("  the slowest cells:")
    for seconds, first_line in sorted(cells, reverse=True)[:6]:
        print(f"    {seconds:6.1f} s  {first_line}")
    print(f"the whole sheet in full mode: {sum(parts.values()):.0f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataloader", action="store_true", help="also time a DataLoader epoch for comparison")
    parser.add_argument("--sheet", action="store_true", help="also run the whole sheet in full mode")
    args = parser.parse_args()
    os.environ["DLCOURSE_CACHE"] = tempfile.mkdtemp(prefix="dlcourse-cache-")  # no stored runs
    dlcourse.data.load_dataset = load_or_random  # the notebook imports it from here
    with contextlib.redirect_stdout(io.StringIO()):  # the sheet's functions (a quick, silent run)
        ns = notebook_namespace(notebook(SHEET), grading=True)
    ns["load_dataset"] = load_or_random
    print(f"device {ns['DEVICE']}, torch threads {torch.get_num_threads()}, {os.cpu_count()} cores")
    time_epochs(ns)
    time_run_steps(ns)
    if args.dataloader:
        time_dataloader()
    if args.sheet:
        time_sheet()


if __name__ == "__main__":
    main()
