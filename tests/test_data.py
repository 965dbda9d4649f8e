"""The data layer: real loading through torchvision from tiny archives the tests write
themselves, the mirror setting, recompressed archives checked by their content, the message
for missing data, the grading stand-in, the real MNIST archives when the machine has them
(DLCOURSE_MIRROR, as CI sets it) and the real FashionMNIST of Debian's dataset-fashion-mnist."""

import gzip
import hashlib
import io
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision import datasets

from dlcourse import data

MNIST_FILES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}


@pytest.fixture(autouse=True)
def full_mode(monkeypatch, tmp_path):
    """Every test starts in full mode with an empty data folder, no mirror and no cache."""
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("DLCOURSE_MIRROR", raising=False)
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(data, "SYSTEM_FOLDERS", {})  # the tests' own files only
    data._load_real.cache_clear()
    yield
    data._load_real.cache_clear()


def idx_bytes(array):
    """An array in the IDX format of the MNIST archives (unsigned bytes, big-endian sizes)."""
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.tobytes()


def tiny_mnist(folder, name, monkeypatch, sizes=(("train", 12), ("test", 5))):
    """Write the four archives of a tiny MNIST-like set into folder/<name>/raw and make
    torchvision accept their md5 sums. Returns the images and labels written."""
    raw = Path(folder) / name / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    written, resources = {}, []
    for split, n in sizes:
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = np.arange(n) % 10
        written[split] = (images, labels)
        for kind, array in (("images", images), ("labels", labels)):
            archive = raw / f"{MNIST_FILES[split, kind]}.gz"
            archive.write_bytes(gzip.compress(idx_bytes(array)))
            resources.append((archive.name, hashlib.md5(archive.read_bytes()).hexdigest()))
    cls = getattr(datasets, name)
    monkeypatch.setattr(cls, "resources", resources)
    monkeypatch.setattr(cls, "mirrors", ["http://invalid.invalid/"])  # never the internet in a test
    return written


def test_mnist_from_a_mirror_folder_matches_the_archives(tmp_path, monkeypatch):
    written = tiny_mnist(tmp_path / "mirror", "MNIST", monkeypatch)
    monkeypatch.setenv("DLCOURSE_MIRROR", str(tmp_path / "mirror"))  # a plain folder
    images, labels = data.load_dataset("mnist", "train")
    assert images.dtype == torch.float32 and images.shape == (12, 1, 28, 28)
    assert labels.dtype == torch.int64 and labels.tolist() == written["train"][1].tolist()
    assert torch.allclose(images[:, 0] * 255, torch.from_numpy(written["train"][0]).float())
    assert (tmp_path / "data" / "MNIST" / "raw" / "train-images-idx3-ubyte").exists()
    test_images, _ = data.load_dataset("mnist", "test")
    assert test_images.shape == (5, 1, 28, 28)


def test_class_subset_and_limit(tmp_path, monkeypatch):
    written = tiny_mnist(tmp_path / "mirror", "MNIST", monkeypatch)
    monkeypatch.setenv("DLCOURSE_MIRROR", (tmp_path / "mirror").as_uri())  # a file:// URL
    images, labels = data.load_dataset("mnist", "train", classes=(1, 7))
    assert labels.tolist() == [1, 7, 1]  # labels 0..9, 0..1: original numbers, original order
    expected = written["train"][0][[1, 7, 11]]
    assert torch.allclose(images[:, 0] * 255, torch.from_numpy(expected).float())
    _, first_two = data.load_dataset("mnist", "train", classes=(1, 7), limit=2)
    assert first_two.tolist() == [1, 7]


def test_fashion_mnist_uses_its_own_folder(tmp_path, monkeypatch):
    tiny_mnist(tmp_path / "mirror", "FashionMNIST", monkeypatch)
    monkeypatch.setenv("DLCOURSE_MIRROR", str(tmp_path / "mirror"))
    images, labels = data.load_dataset("fashion-mnist", "test")
    assert images.shape == (5, 1, 28, 28) and labels.tolist() == [0, 1, 2, 3, 4]
    assert (tmp_path / "data" / "FashionMNIST" / "raw").is_dir()


def test_files_already_in_the_data_folder_need_no_network(tmp_path, monkeypatch):
    tiny_mnist(tmp_path / "data", "MNIST", monkeypatch)  # a teacher copied the archives
    images, _ = data.load_dataset("mnist", "test")
    assert images.shape == (5, 1, 28, 28)


def test_an_interrupted_copy_is_replaced(tmp_path, monkeypatch):
    written = tiny_mnist(tmp_path / "mirror", "MNIST", monkeypatch)
    broken = tmp_path / "data" / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"")  # what a copy that was cut off leaves behind
    monkeypatch.setenv("DLCOURSE_MIRROR", str(tmp_path / "mirror"))
    _, labels = data.load_dataset("mnist", "test")
    assert labels.tolist() == written["test"][1].tolist()


def test_a_corrupted_archive_is_refused(tmp_path, monkeypatch):
    tiny_mnist(tmp_path / "mirror", "MNIST", monkeypatch)
    archive = tmp_path / "mirror" / "MNIST" / "raw" / "train-labels-idx1-ubyte.gz"
    archive.write_bytes(archive.read_bytes()[:-3] + b"xyz")  # the md5 sum no longer matches
    monkeypatch.setenv("DLCOURSE_MIRROR", str(tmp_path / "mirror"))
    with pytest.raises(data.DataUnavailable):
        data.load_dataset("mnist")


def recompressed(written_raw, folder, monkeypatch, name="FashionMNIST"):
    """The archives of written_raw recompressed (another level and time stamp, as a packager
    does) into folder, side by side without the <set>/raw layout; the official unpacked md5
    sums become those of the tiny files. Returns the new archives."""
    folder.mkdir(parents=True, exist_ok=True)
    official = {}
    for archive in sorted(written_raw.glob("*.gz")):
        content = gzip.decompress(archive.read_bytes())
        official[archive.name.removesuffix(".gz")] = hashlib.md5(content).hexdigest()
        (folder / archive.name).write_bytes(gzip.compress(content, compresslevel=1, mtime=0))
    monkeypatch.setitem(data.IDX_MD5, name, official)
    archives = sorted(folder.glob("*.gz"))
    assert not set(hashlib.md5(a.read_bytes()).hexdigest() for a in archives) & {md5 for _, md5 in getattr(datasets, name).resources}
    return archives


def test_recompressed_archives_in_a_flat_mirror_folder(tmp_path, monkeypatch):
    written = tiny_mnist(tmp_path / "official", "FashionMNIST", monkeypatch)
    recompressed(tmp_path / "official" / "FashionMNIST" / "raw", tmp_path / "debian", monkeypatch)
    monkeypatch.setenv("DLCOURSE_MIRROR", str(tmp_path / "debian"))  # like /usr/share/datasets/fashion-mnist
    images, labels = data.load_dataset("fashion-mnist", "train")
    assert labels.tolist() == written["train"][1].tolist()
    assert torch.allclose(images[:, 0] * 255, torch.from_numpy(written["train"][0]).float())
    assert data.load_dataset("fashion-mnist", "test")[0].shape == (5, 1, 28, 28)


def test_recompressed_archives_in_the_data_folder_and_a_system_folder(tmp_path, monkeypatch):
    written = tiny_mnist(tmp_path / "official", "FashionMNIST", monkeypatch)
    recompressed(tmp_path / "official" / "FashionMNIST" / "raw", tmp_path / "data" / "FashionMNIST" / "raw", monkeypatch)
    _, labels = data.load_dataset("fashion-mnist", "test")  # a teacher copied the package's files
    assert labels.tolist() == written["test"][1].tolist()
    data._load_real.cache_clear()
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path / "other"))
    monkeypatch.setattr(data, "SYSTEM_FOLDERS", {"FashionMNIST": [tmp_path / "data" / "FashionMNIST" / "raw"]})
    _, labels = data.load_dataset("fashion-mnist", "test")  # found without any setting
    assert labels.tolist() == written["test"][1].tolist()
    monkeypatch.setattr(datasets.MNIST, "mirrors", ["http://invalid.invalid/"])
    monkeypatch.setenv("DLCOURSE_MIRROR", str(tmp_path / "data" / "FashionMNIST" / "raw"))
    with pytest.raises(data.DataUnavailable):  # the same file names, but not MNIST's content
        data.load_dataset("mnist", "test")


def test_a_recompressed_archive_with_other_content_is_refused(tmp_path, monkeypatch):
    tiny_mnist(tmp_path / "official", "FashionMNIST", monkeypatch)
    archives = recompressed(tmp_path / "official" / "FashionMNIST" / "raw", tmp_path / "debian", monkeypatch)
    labels = next(a for a in archives if a.name == "train-labels-idx1-ubyte.gz")
    content = bytearray(gzip.decompress(labels.read_bytes()))
    content[-1] = (content[-1] + 1) % 10  # one label changed, still a valid IDX file
    labels.write_bytes(gzip.compress(bytes(content)))
    monkeypatch.setenv("DLCOURSE_MIRROR", str(tmp_path / "debian"))
    with pytest.raises(data.DataUnavailable) as info:
        data.load_dataset("fashion-mnist", "train")
    assert f"not used: {labels}" in str(info.value)
    assert not (tmp_path / "data" / "FashionMNIST" / "raw" / "train-labels-idx1-ubyte").exists()


def test_missing_data_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets.MNIST, "mirrors", ["http://invalid.invalid/"])
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("DLCOURSE_MIRROR", str(tmp_path / "empty"))
    with pytest.raises(data.DataUnavailable) as info:
        data.load_dataset("mnist")
    message = str(info.value)
    assert str(tmp_path / "data" / "MNIST" / "raw") in message
    assert "DLCOURSE_MIRROR" in message and "DLCOURSE_DATA" in message and "internet" in message
    assert info.value._render_traceback_() == [f"DataUnavailable: {message}"]  # no traceback in Jupyter


def tiny_cifar(folder, monkeypatch):
    """A tiny cifar-10-python.tar.gz (5 training batches of 2 images, a test batch of 3)."""
    rng = np.random.default_rng(1)
    batches, written = {}, {"train": [], "test": []}
    for name, n, split in [*((f"data_batch_{i}", 2, "train") for i in range(1, 6)), ("test_batch", 3, "test")]:
        rows = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, size=n)]
        written[split].append((rows, labels))
        batches[name] = pickle.dumps({"data": rows, "labels": labels})
    batches["batches.meta"] = pickle.dumps({"label_names": [f"class {i}" for i in range(10)]})
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in batches.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    archive = Path(folder) / "cifar-10-python.tar.gz"
    archive.parent.mkdir(parents=True, exist_ok=True)
    archive.write_bytes(buffer.getvalue())
    md5 = {name: hashlib.md5(content).hexdigest() for name, content in batches.items()}
    cls = datasets.CIFAR10
    monkeypatch.setattr(cls, "tgz_md5", hashlib.md5(archive.read_bytes()).hexdigest())
    monkeypatch.setattr(cls, "train_list", [[f"data_batch_{i}", md5[f"data_batch_{i}"]] for i in range(1, 6)])
    monkeypatch.setattr(cls, "test_list", [["test_batch", md5["test_batch"]]])
    monkeypatch.setattr(cls, "meta", {"filename": "batches.meta", "key": "label_names", "md5": md5["batches.meta"]})
    return written


def test_cifar10_from_a_mirror(tmp_path, monkeypatch):
    written = tiny_cifar(tmp_path / "mirror", monkeypatch)
    monkeypatch.setenv("DLCOURSE_MIRROR", str(tmp_path / "mirror"))
    images, labels = data.load_dataset("cifar10", "train")
    assert images.shape == (10, 3, 32, 32) and images.dtype == torch.float32
    rows = np.concatenate([r for r, _ in written["train"]])
    assert labels.tolist() == [label for _, ls in written["train"] for label in ls]
    # CIFAR stores each image as 1024 red, 1024 green, 1024 blue values, row by row.
    assert torch.allclose(images * 255, torch.from_numpy(rows.reshape(10, 3, 32, 32)).float())
    test_images, test_labels = data.load_dataset("CIFAR-10", "test", limit=2)
    assert test_images.shape == (2, 3, 32, 32) and test_labels.tolist() == written["test"][0][1][:2]


def test_wrong_arguments_get_a_clear_message():
    with pytest.raises(ValueError, match="choose one of"):
        data.load_dataset("imagenet")
    with pytest.raises(ValueError, match="'train' or 'test'"):
        data.load_dataset("mnist", split="validation")
    with pytest.raises(ValueError, match="from 0 to 9"):
        data.load_dataset("mnist", classes=(1, 10))


# ----------------------------------------------------------------------------- grading mode


@pytest.mark.parametrize("name, shape", [("mnist", (1, 28, 28)), ("fashionmnist", (1, 28, 28)), ("cifar10", (3, 32, 32))])
def test_grading_uses_a_stand_in_without_files(name, shape, monkeypatch, capsys):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.setenv("DLCOURSE_MIRROR", "http://invalid.invalid/")  # would fail if it were used
    images, labels = data.load_dataset(name, "train", classes=(3, 5))
    assert images.shape[1:] == shape and images.dtype == torch.float32
    assert set(labels.tolist()) == {3, 5} and len(labels) == data.STAND_IN_SIZE["train"]
    assert 0 <= images.min() and images.max() <= 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and "stand-in" in lines[0]
    again, _ = data.load_dataset(name, "train", classes=(3, 5))
    assert torch.equal(images, again)  # deterministic
    test_images, _ = data.load_dataset(name, "test", classes=(3, 5), limit=50)
    assert len(test_images) == 50 and not torch.equal(test_images[:10], images[:10])
    assert not (Path(os.environ["DLCOURSE_DATA"])).exists()


def test_stand_in_is_learnable_and_has_an_empty_border(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    images, labels = data.load_dataset("mnist", "train", classes=(1, 7))
    border = torch.ones(28, 28, dtype=torch.bool)
    border[4:24, 4:24] = False
    assert images[:, 0, border].abs().max() == 0  # like MNIST: pixels that are never ink
    # The nearest class mean classifies the stand-in well: its classes can be learned.
    X, y = images.flatten(1), labels
    means = torch.stack([X[y == c].mean(0) for c in (1, 7)])
    predicted = torch.tensor([1, 7])[torch.cdist(X, means).argmin(1)]
    assert (predicted == y).float().mean() > 0.95


# ----------------------------------------------------------------------------- real MNIST


def real_mirror():
    mirror = os.environ.get("DLCOURSE_MIRROR", "")
    folder = Path(mirror.removeprefix("file://"))
    return mirror if (folder / "MNIST" / "raw" / "train-images-idx3-ubyte.gz").exists() else None


REAL = real_mirror()


@pytest.mark.skipif(REAL is None, reason="set DLCOURSE_MIRROR to a folder with the MNIST archives")
def test_real_mnist_through_the_mirror(monkeypatch):
    monkeypatch.setenv("DLCOURSE_MIRROR", REAL)
    images, labels = data.load_dataset("mnist", "train")
    assert images.shape == (60000, 1, 28, 28) and len(labels) == 60000
    assert torch.bincount(labels).tolist()[:2] == [5923, 6742]  # the well-known class counts
    test_images, test_labels = data.load_dataset("mnist", "test", classes=(1, 7))
    assert len(test_labels) == 1135 + 1028 and set(test_labels.tolist()) == {1, 7}
    assert 0 <= test_images.min() and test_images.max() == 1
    # There really are pixels that are blank in every training image (sheet 02 uses this).
    assert int((images.amax(dim=0) == 0).sum()) > 50


# ----------------------------------------------------------------------------- real FashionMNIST

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(not (DEBIAN_FASHION / "train-images-idx3-ubyte.gz").exists(),
                    reason="install the Debian package dataset-fashion-mnist for the real FashionMNIST")
@pytest.mark.parametrize("how", ["system folder", "mirror"])
def test_real_fashion_mnist_from_the_debian_package(how, monkeypatch):
    from torchvision.datasets import FashionMNIST

    packed = {a.name: hashlib.md5(a.read_bytes()).hexdigest() for a in DEBIAN_FASHION.glob("*.gz")}
    assert not set(packed.values()) & {md5 for _, md5 in FashionMNIST.resources}, "recompressed: torchvision refuses them"
    if how == "mirror":
        monkeypatch.setenv("DLCOURSE_MIRROR", str(DEBIAN_FASHION))
    else:
        monkeypatch.setattr(data, "SYSTEM_FOLDERS", {"FashionMNIST": [DEBIAN_FASHION]})
    monkeypatch.setattr(FashionMNIST, "mirrors", ["http://invalid.invalid/"])  # never the internet
    images, labels = data.load_dataset("fashion-mnist", "train")
    assert images.shape == (60000, 1, 28, 28) and torch.bincount(labels).tolist() == [6000] * 10
    assert labels[0] == 9  # the first training image is an ankle boot
    _, test_labels = data.load_dataset("fashion-mnist", "test")
    assert torch.bincount(test_labels).tolist() == [1000] * 10


# ----------------------------------------------------------------------------- a course server


@pytest.fixture
def course_server(tmp_path):
    """An HTTP server on this machine that serves tmp_path/server, like a school's file server."""
    import functools
    import http.server
    import threading

    folder = tmp_path / "server"
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_mnist_and_cifar_from_a_course_server(course_server, monkeypatch):
    folder, url = course_server
    written = tiny_mnist(folder, "MNIST", monkeypatch)
    tiny_cifar(folder, monkeypatch)
    monkeypatch.setenv("DLCOURSE_MIRROR", url)
    _, labels = data.load_dataset("mnist", "test")
    assert labels.tolist() == written["test"][1].tolist()
    images, _ = data.load_dataset("cifar10", "test")
    assert images.shape == (3, 3, 32, 32)
