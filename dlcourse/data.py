"""Data sets as tensors in memory: MNIST, FashionMNIST and CIFAR-10.

    images, labels = load_dataset("mnist", split="train", classes=(1, 7), limit=5000)

``images`` is a float32 tensor of shape (n, channels, height, width) with values in [0, 1],
``labels`` an int64 tensor of the original class numbers. The whole set sits in memory, so
training loops index tensors directly instead of decoding one image at a time.

Where the files come from (settings are environment variables, see the README):

- ``DLCOURSE_DATA``   the data folder (default: ``~/dlcourse-data``). torchvision's layout:
  ``MNIST/raw/``, ``FashionMNIST/raw/``, ``cifar-10-python.tar.gz``.
- ``DLCOURSE_MIRROR`` a folder or URL with the official archives in the same layout, for
  classrooms without internet. Archives in a folder are copied, from a URL downloaded, into
  the data folder; torchvision checks their md5 sums either way.

MNIST and FashionMNIST archives in a folder (the data folder, a mirror folder, or Debian's
``/usr/share/datasets/fashion-mnist`` from the package ``dataset-fashion-mnist``) may also be
recompressed, and a folder may hold one set's four archives without the ``<set>/raw/`` layout:
such an archive is accepted when its unpacked file has the md5 sum of the official file.

If a data set is neither in the data folder nor downloadable, you get one message that says
what to do. While nbgrader grades, a small synthetic stand-in of the same shapes and classes
is used instead, so grading needs no data and no network.
"""

import functools
import gzip
import hashlib
import os
import shutil
import urllib.request
import zlib
from pathlib import Path

import numpy as np
import torch

from dlcourse.budget import grading

DATASETS = {
    # name: (torchvision class, shape of one image, number of classes)
    "mnist": ("MNIST", (1, 28, 28), 10),
    "fashionmnist": ("FashionMNIST", (1, 28, 28), 10),
    "cifar10": ("CIFAR10", (3, 32, 32), 10),
}
STAND_IN_SIZE = {"train": 600, "test": 200}  # images per split while grading
# md5 sums of the official IDX files, unpacked. torchvision checks the .gz archives, whose sums
# change when a file is recompressed (as in Debian's dataset-fashion-mnist); these do not.
# MNIST's: unpacked from the archives with torchvision's sums. FashionMNIST's: unpacked from
# Debian's archives, whose deflate streams have exactly the official archives' lengths (these
# differ only by the file name in the gzip header), and equal to the sums other projects list
# beside the official archive sums.
IDX_MD5 = {
    "MNIST": {
        "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
        "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
        "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
        "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
    },
    "FashionMNIST": {
        "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
        "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
        "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
    },
}
# Folders where system packages put a data set's archives (four .gz files side by side).
SYSTEM_FOLDERS = {"FashionMNIST": [Path("/usr/share/datasets/fashion-mnist")]}  # Debian: dataset-fashion-mnist


class DataUnavailable(RuntimeError):
    """The data set is not on this machine and could not be downloaded."""

    def _render_traceback_(self):  # IPython shows just the message, no traceback
        return [f"DataUnavailable: {self}"]


def data_folder() -> Path:
    """The folder that holds the data sets: $DLCOURSE_DATA, or ~/dlcourse-data."""
    return Path(os.environ.get("DLCOURSE_DATA") or Path.home() / "dlcourse-data").expanduser()


def mirror_url():
    """$DLCOURSE_MIRROR as a URL ending in '/', or None. A plain folder becomes file://."""
    mirror = os.environ.get("DLCOURSE_MIRROR")
    if not mirror:
        return None
    if "://" not in mirror:
        mirror = Path(mirror).expanduser().resolve().as_uri()
    return mirror.rstrip("/") + "/"


def _canonical(name):
    key = name.lower().replace("-", "").replace("_", "")
    if key not in DATASETS:
        raise ValueError(f"unknown data set {name!r}: choose one of {', '.join(DATASETS)}")
    return key


def load_dataset(name, split="train", classes=None, limit=None):
    """Images and labels of a data set as tensors, optionally only some classes, at most
    ``limit`` images (the first ones, in the data set's order)."""
    key = _canonical(name)
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    _, shape, num_classes = DATASETS[key]
    classes = tuple(range(num_classes)) if classes is None else tuple(int(c) for c in classes)
    if not classes or not all(0 <= c < num_classes for c in classes):
        raise ValueError(f"classes must be numbers from 0 to {num_classes - 1}, got {classes}")
    if grading():
        images, labels = stand_in(key, split, classes, limit)
        print(f"Grading mode: a synthetic stand-in replaces {DATASETS[key][0]} "
              f"({len(labels)} {split} images, classes {classes}); the real data is used in JupyterLab.")
        return images, labels
    raw_images, raw_labels = _load_real(key, split, data_folder())
    keep = torch.isin(raw_labels, torch.tensor(classes))
    index = torch.nonzero(keep).flatten()[:limit]
    return raw_images[index].float() / 255.0, raw_labels[index].clone()


@functools.lru_cache(maxsize=4)
def _load_real(key, split, root):
    """The whole split as uint8 images (n, c, h, w) and int64 labels; read once, then cached."""
    dataset = _torchvision_dataset(key, split, root)
    if key == "cifar10":
        images = torch.from_numpy(dataset.data).permute(0, 3, 1, 2).contiguous()
        labels = torch.tensor(dataset.targets, dtype=torch.int64)
    else:
        images, labels = dataset.data.unsqueeze(1), dataset.targets.to(torch.int64)
    return images, labels


def _torchvision_dataset(key, split, root):
    from torchvision import datasets

    base = getattr(datasets, DATASETS[key][0])
    mirror = mirror_url()
    folder = None  # the mirror when it is a folder
    if mirror and mirror.startswith("file://"):
        folder = Path(urllib.request.url2pathname(mirror.removeprefix("file://")))
    overrides, refused = {}, []
    if base.__name__ in IDX_MD5:  # MNIST and FashionMNIST: unpacked here, checked by content
        refused = _unpack_verified(base, root, folder)
    elif folder:
        _copy_from_folder(base, folder, root)
    if mirror and not folder and key == "cifar10":
        overrides["url"] = mirror + base.filename
    elif mirror and not folder:  # MNIST and FashionMNIST try a list of mirrors in turn
        overrides["mirrors"] = [f"{mirror}{base.__name__}/raw/", *base.mirrors]
    # A subclass with the same name keeps torchvision's folder layout (root/MNIST/raw, ...).
    dataset_class = type(base.__name__, (base,), overrides)
    try:
        # torchvision checks the md5 sum of every archive it downloads before it extracts it.
        return dataset_class(str(root), train=(split == "train"), download=True)
    except Exception as exc:  # offline, wrong mirror, corrupted archive, ...
        raise DataUnavailable(_missing_message(base, root, mirror, exc, refused)) from exc


def _archives(base):
    """Where torchvision keeps a data set's archives, relative to the data folder."""
    if base.__name__ == "CIFAR10":
        return [Path(base.filename)]
    return [Path(base.__name__, "raw", filename) for filename, _ in base.resources]


def _copy_from_folder(base, mirror, root):
    """A mirror on disk: copy its archives into the data folder, where torchvision finds them."""
    for name in _archives(base):
        source, target = mirror / name, root / name
        if source.exists() and not (target.exists() and target.stat().st_size == source.stat().st_size):
            _write_whole(target, lambda partial, source=source: shutil.copyfile(source, partial))


def _write_whole(target, write):
    """``write(path)`` into a temporary name beside ``target``, then rename it: an interrupted
    copy or unpacking is never taken for the file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    write(partial)
    partial.replace(target)


def _unpack_verified(base, root, mirror):
    """MNIST or FashionMNIST: unpack each archive that is not unpacked yet from the first folder
    that has an official one (the data folder, the mirror folder in either layout, the system
    folders) into root/<set>/raw, where torchvision reads the unpacked files. An archive counts as
    official when its md5 sum is torchvision's or its unpacked file's is the official file's
    (a recompressed archive). Returns the archives refused."""
    raw = root / base.__name__ / "raw"
    folders = [raw, *([mirror / base.__name__ / "raw", mirror] if mirror else []), *SYSTEM_FOLDERS.get(base.__name__, [])]
    refused = []
    for archive, archive_md5 in base.resources:
        target = raw / archive.removesuffix(".gz")
        for source in (folder / archive for folder in folders):
            if target.exists():
                break
            if source.is_file():
                content = _official_content(source, archive_md5, IDX_MD5[base.__name__].get(target.name))
                if content is None:
                    refused.append(source)
                else:
                    _write_whole(target, lambda partial, content=content: partial.write_bytes(content))
    return refused


def _official_content(archive, archive_md5, content_md5):
    """The unpacked content of a .gz archive if the archive or its content is official, else None."""
    packed = archive.read_bytes()
    try:
        content = gzip.decompress(packed)
    except (OSError, EOFError, zlib.error):  # not gzip, cut off, damaged
        return None
    official = hashlib.md5(packed).hexdigest() == archive_md5 or hashlib.md5(content).hexdigest() == content_md5
    return content if official else None


def _missing_message(base, root, mirror, exc, refused=()):
    archives = _archives(base)
    where = root / archives[0].parent
    files = archives[0].name if len(archives) == 1 else "the four .gz archives"
    tried = f"the mirror {mirror} and " if mirror else ""
    rejected = f"Not the official files (md5 sums differ), so not used: {', '.join(map(str, refused))}. " if refused else ""
    return (
        f"{base.__name__} is not in {root} and could not be downloaded from {tried}the internet "
        f"({type(exc).__name__}: {exc}). {rejected}Either connect to the internet and run the cell again, "
        f"or put {files} into {where} (set DLCOURSE_DATA to use another folder), or set "
        f"DLCOURSE_MIRROR to the folder or URL your teacher gives you."
    )


def stand_in(key, split, classes, limit=None):
    """A small deterministic fake of a data set: same image shape, the requested classes.

    Every class has its own blurry pattern; images are the pattern plus noise, so the classes
    can be learned. Like MNIST, the 28 x 28 stand-ins have a 4-pixel border that is always 0.
    """
    _, shape, _ = DATASETS[_canonical(key)]
    n = STAND_IN_SIZE[split] if limit is None else min(limit, STAND_IN_SIZE[split])
    rng = np.random.default_rng([len(key), sum(map(ord, key)), split == "train"])
    labels = np.array([classes[i % len(classes)] for i in range(n)], dtype=np.int64)
    channels, height, width = shape
    border = 4 if height == 28 else 0
    inner = height - 2 * border
    images = np.zeros((n, *shape), dtype=np.float32)
    for c in classes:
        pattern = np.kron(np.random.default_rng(c).random((channels, inner // 4, inner // 4)), np.ones((4, 4)))
        rows = labels == c
        noise = rng.random((int(rows.sum()), channels, inner, inner))
        images[rows, :, border:height - border, border:width - border] = np.clip(0.7 * pattern + 0.5 * noise - 0.2, 0, 1)
    return torch.from_numpy(images), torch.from_numpy(labels)
