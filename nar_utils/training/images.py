"""The benchmark's images, read from the official files, split as NAS-Bench-201 splits them.

Readers of the official python formats (:func:`read_cifar10`, :func:`read_cifar100`,
:func:`read_imagenet16`) return uint8 NHWC images and int64 labels, checked before anything
is returned. The readers are written here by hand because torchvision cannot be used: its
PyPI wheel needs the CUDA build of torch, and the project pins the CPU one.

Layout under the data directory (argument ``data_dir``, else ``$NAR_DATA_DIR``; see
:mod:`nar_utils.benchmarks.datadir`)::

    <data_dir>/images/cifar-10-batches-py/   data_batch_1..5, test_batch
    <data_dir>/images/cifar-100-python/      train, test
    <data_dir>/images/ImageNet16/            train_data_batch_1..10, val_data
    <data_dir>/nb201/official/               the split files (cifar-split.txt, ...)

:func:`benchmark_splits` builds one official dataset's :class:`ImageSplits` (names as
NAS-Bench-201 reports them: 'cifar10-valid', 'cifar10', 'cifar100', 'ImageNet16-120').
:func:`proxy_images` is a small real dataset shipped with scikit-learn (handwritten digits)
for machines without the images; :func:`load_images` picks between the two. The torch helpers
:func:`random_flip_crop` and :func:`normalise` are the benchmark's augmentation and
normalisation, in the order the benchmark applies them (flip and crop on the uint8 images,
so the padding is black, then scale to 0..1 and normalise). torch is imported inside them
only.

References: A. Krizhevsky, "Learning Multiple Layers of Features from Tiny Images", 2009
(CIFAR); P. Chrabaszcz et al., "A Downsampled Variant of ImageNet as an Alternative to the
CIFAR datasets", 2017; X. Dong and Y. Yang, "NAS-Bench-201", ICLR 2020 (splits and
normalisation constants from its AutoDL-Projects code, MIT).
"""
from __future__ import annotations

import importlib
import json
import os
import pickle
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from nar_utils.benchmarks.datadir import require_data_dir, resolve_data_dir
from nar_utils.spaces.nb201.space import DATASETS  # the official names, never remapped
from nar_utils.training.splits import ImageSplits

if TYPE_CHECKING:
    import torch

# -- layout ----------------------------------------------------------------------------------
#: Where the image folders lie in a data directory.
IMAGES_RELPATH = Path("images")
#: Where the official NAS-Bench-201 split files lie in a data directory.
SPLITS_RELPATH = Path("nb201") / "official"

CIFAR10_DIRNAME = "cifar-10-batches-py"
CIFAR10_TRAIN_FILES: tuple[str, ...] = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_FILE = "test_batch"
CIFAR100_DIRNAME = "cifar-100-python"
CIFAR100_TRAIN_FILE = "train"
CIFAR100_TEST_FILE = "test"
IMAGENET16_DIRNAME = "ImageNet16"
IMAGENET16_TRAIN_FILES: tuple[str, ...] = tuple(f"train_data_batch_{i}" for i in range(1, 11))
IMAGENET16_VALID_FILE = "val_data"

#: The image folder (under ``<data_dir>/images``) each dataset is read from.
IMAGE_DIRNAMES: dict[str, str] = {
    "cifar10-valid": CIFAR10_DIRNAME, "cifar10": CIFAR10_DIRNAME,
    "cifar100": CIFAR100_DIRNAME, "ImageNet16-120": IMAGENET16_DIRNAME}
#: The split file (under ``<data_dir>/nb201/official``) of each dataset that has one, and
#: its two keys, in the order (first half, second half).
SPLIT_FILES: dict[str, tuple[str, tuple[str, str]]] = {
    "cifar10-valid": ("cifar-split.txt", ("train", "valid")),
    "cifar100": ("cifar100-test-split.txt", ("xvalid", "xtest")),
    "ImageNet16-120": ("imagenet-16-120-test-split.txt", ("xvalid", "xtest")),
}
#: ImageNet16-120 keeps the first 120 of the 1,000 ImageNet classes (labels 1..120 on file).
IMAGENET16_120_CLASSES = 120
FALLBACKS: tuple[str, ...] = ("error", "proxy")


class Preprocessing(NamedTuple):
    """Per-channel mean and std on the 0..1 scale, and the zero padding of the random crop."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    crop_padding: int


def _per_255(values: tuple[float, float, float]) -> tuple[float, float, float]:
    return tuple(v / 255 for v in values)  # type: ignore[return-value]


_CIFAR_PREPROCESSING = Preprocessing(_per_255((125.3, 123.0, 113.9)),
                                     _per_255((63.0, 62.1, 66.7)), 4)
#: NAS-Bench-201's normalisation and crop padding per dataset (its AutoDL-Projects code).
PREPROCESSING: dict[str, Preprocessing] = {
    "cifar10-valid": _CIFAR_PREPROCESSING,
    "cifar10": _CIFAR_PREPROCESSING,
    "cifar100": _CIFAR_PREPROCESSING,
    "ImageNet16-120": Preprocessing(_per_255((122.68, 116.66, 104.01)),
                                    _per_255((63.22, 61.26, 65.09)), 2),
}

#: The proxy's split sizes (train / valid / test, stratified by class; 1,797 images in all).
PROXY_NAME = "proxy-digits"
PROXY_SIZES: dict[str, int] = {"train": 1000, "valid": 397, "test": 400}

_HOW_TO_GET = {
    "cifar10": "Download the python version of CIFAR-10 (cifar-10-python.tar.gz) from the "
               "CIFAR page of the University of Toronto, https://www.cs.toronto.edu/~kriz/"
               "cifar.html, and unpack it in <data_dir>/images/ (it makes "
               f"<data_dir>/images/{CIFAR10_DIRNAME}/).",
    "cifar100": "Download the python version of CIFAR-100 (cifar-100-python.tar.gz) from the "
                "CIFAR page of the University of Toronto, https://www.cs.toronto.edu/~kriz/"
                "cifar.html, and unpack it in <data_dir>/images/ (it makes "
                f"<data_dir>/images/{CIFAR100_DIRNAME}/).",
    "imagenet16": "Get the downsampled ImageNet 16x16 pickles (image-net.org, 'Downsampled "
                  "ImageNet', 16x16 train and val; see the NAS-Bench-201 instructions, "
                  "github.com/D-X-Y/NAS-Bench-201) and put train_data_batch_1..10 and val_data "
                  f"in <data_dir>/images/{IMAGENET16_DIRNAME}/.",
}


# (files, what they are, how to get them) per image folder
_IMAGE_SETS: dict[str, tuple[tuple[str, ...], str, str]] = {
    CIFAR10_DIRNAME: (CIFAR10_TRAIN_FILES + (CIFAR10_TEST_FILE,),
                      "the CIFAR-10 python batches data_batch_1..5 and test_batch",
                      _HOW_TO_GET["cifar10"]),
    CIFAR100_DIRNAME: ((CIFAR100_TRAIN_FILE, CIFAR100_TEST_FILE),
                       "the CIFAR-100 python files train and test", _HOW_TO_GET["cifar100"]),
    IMAGENET16_DIRNAME: (IMAGENET16_TRAIN_FILES + (IMAGENET16_VALID_FILE,),
                         "the downsampled ImageNet 16x16 pickles train_data_batch_1..10, val_data",
                         _HOW_TO_GET["imagenet16"]),
}


# -- pickles ---------------------------------------------------------------------------------
def _numpy_core() -> str:
    # numpy 2 moved numpy.core to numpy._core; files pickled by either name must load with
    # whichever numpy is installed, without the deprecation warning of the old name.
    try:
        importlib.import_module("numpy._core.multiarray")
        return "numpy._core"
    except ImportError:
        return "numpy.core"


_NUMPY_CORE = _numpy_core()
# The globals a pickled dict of numpy arrays and lists needs, and nothing else: the image
# files come from the internet, and unpickling may otherwise run arbitrary code.
_PICKLE_GLOBALS = {("numpy.core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
                   ("numpy.core.numeric", "_frombuffer"), ("numpy", "ndarray"),
                   ("numpy", "dtype"), ("_codecs", "encode")}


class _RefusedGlobal(pickle.UnpicklingError):
    pass


class _ArrayUnpickler(pickle.Unpickler):
    """Admits only numpy arrays (and plain containers) in the official image pickles."""

    def find_class(self, module: str, name: str):
        canonical = module.replace("numpy._core", "numpy.core", 1)
        if (canonical, name) not in _PICKLE_GLOBALS:
            raise _RefusedGlobal(f"refusing to load {module}.{name}: the image files hold "
                                 "only numpy arrays and lists")
        return super().find_class(canonical.replace("numpy.core", _NUMPY_CORE, 1), name)


def _load_pickle(path: Path, encoding: str) -> Any:
    try:
        with path.open("rb") as stream:
            return _ArrayUnpickler(stream, encoding=encoding).load()
    except OSError:
        raise
    except _RefusedGlobal as error:
        raise ValueError(f"{path}: {error}; the file is not the python version of the "
                         "dataset.") from None
    # A damaged pickle stops at whatever opcode it breaks on, and that can raise nearly any
    # exception; every one of them means the same thing here.
    except Exception as error:
        truncated = isinstance(error, EOFError) or "truncated" in str(error)
        what = ("the file ends early (truncated)" if truncated
                else f"it is not a readable python pickle ({type(error).__name__}: {error})")
        raise ValueError(f"{path}: {what}. The file is damaged or is not the python version "
                         "of the dataset: download it again.") from error


def _require_images(images_root: Path, dirname: str) -> Path:
    """The folder ``images_root/dirname`` with every file of its dataset, checked before any
    is read (so a missing one is found at once)."""
    directory = images_root / dirname
    files, what, how_to_get = _IMAGE_SETS[dirname]
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} is not a directory: expected {what} there. "
                                f"{how_to_get}")
    missing = [name for name in files if not (directory / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{directory / missing[0]} does not exist: expected {what} in "
                                f"{directory} (missing: {', '.join(missing)}). {how_to_get}")
    return directory


class _BatchFormat(NamedTuple):
    encoding: str  # of pickle.load: python-2 strings as bytes (CIFAR) or as latin-1 text
    data_key: Any
    labels_key: Any
    side: int
    labels_from: int
    labels_to: int


_CIFAR10_FORMAT = _BatchFormat("bytes", b"data", b"labels", 32, 0, 9)
_CIFAR100_FORMAT = _BatchFormat("bytes", b"data", b"fine_labels", 32, 0, 99)
_IMAGENET16_FORMAT = _BatchFormat("latin1", "data", "labels", 16, 1, 1000)


def _read_batch(path: Path, batch_format: _BatchFormat) -> tuple[np.ndarray, np.ndarray]:
    """One pickled batch as (uint8 NHWC images, int64 labels), every field checked."""
    encoding, data_key, labels_key, side, labels_from, labels_to = batch_format
    batch = _load_pickle(path, encoding)
    if not isinstance(batch, dict):  # a bad file, not a bad argument: ValueError as the rest
        raise ValueError(  # noqa: TRY004
            f"{path}: holds a {type(batch).__name__}, not the dict of an image batch; the file "
            "is not the python version of the dataset.")
    missing = [key for key in (data_key, labels_key) if key not in batch]
    if missing:
        raise ValueError(f"{path}: no key {missing[0]!r}; it has {sorted(map(repr, batch))}. "
                         f"An image batch holds {data_key!r} and {labels_key!r}: the file is "
                         "not the python version of the dataset.")
    data, pixels = batch[data_key], 3 * side * side
    if (not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2
            or data.shape[1] != pixels):
        found = (f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray)
                 else type(data).__name__)
        raise ValueError(f"{path}: {data_key!r} is {found}; expected a uint8 array (N, {pixels})"
                         f" of 3x{side}x{side} channel-major images.")
    try:
        labels = np.asarray(batch[labels_key])
    except ValueError:  # ragged nested lists
        labels = np.asarray(None)
    if labels.ndim != 1 or (labels.size and labels.dtype.kind not in "iu"):
        raise ValueError(f"{path}: {labels_key!r} is {labels.dtype} {labels.shape}; expected "
                         "a list of integer labels.")
    if len(labels) != len(data):
        raise ValueError(f"{path}: {len(data)} images but {len(labels)} labels in "
                         f"{labels_key!r}; the file is damaged: download it again.")
    outside = (labels < labels_from) | (labels > labels_to)
    if outside.any():
        raise ValueError(f"{path}: label {labels[outside][0]} (position "
                         f"{int(np.argmax(outside))}) is outside {labels_from}..{labels_to}; "
                         "the file is damaged or is not this dataset.")
    # channel-major rows (all R, then G, then B; each row-major) -> NHWC
    images = data.reshape(len(data), 3, side, side).transpose(0, 2, 3, 1)
    return images, labels.astype(np.int64)


def _read_batches(directory: Path, files: Sequence[str], batch_format: _BatchFormat
                  ) -> tuple[np.ndarray, np.ndarray]:
    parts = [_read_batch(directory / name, batch_format) for name in files]
    images = np.ascontiguousarray(np.concatenate([p[0] for p in parts]))
    return images, np.concatenate([p[1] for p in parts])


# -- official readers ------------------------------------------------------------------------
def read_cifar10(root: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                  np.ndarray]:
    """CIFAR-10 from ``root/cifar-10-batches-py/``: ``(train_x, train_y, test_x, test_y)``.

    Images are uint8 ``(N, 32, 32, 3)``, labels int64 in 0..9 (the official files: 50,000
    training and 10,000 test images). Missing files raise ``FileNotFoundError`` saying where to
    get them; a damaged file raises ``ValueError`` naming it.
    """
    directory = _require_images(Path(root), CIFAR10_DIRNAME)
    train_x, train_y = _read_batches(directory, CIFAR10_TRAIN_FILES, _CIFAR10_FORMAT)
    test_x, test_y = _read_batches(directory, (CIFAR10_TEST_FILE,), _CIFAR10_FORMAT)
    return train_x, train_y, test_x, test_y


def read_cifar100(root: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                   np.ndarray]:
    """CIFAR-100 from ``root/cifar-100-python/``: ``(train_x, train_y, test_x, test_y)``.

    Images are uint8 ``(N, 32, 32, 3)``, labels the 100 fine labels as int64 in 0..99 (the
    official files: 50,000 training and 10,000 test images). Errors as :func:`read_cifar10`.
    """
    directory = _require_images(Path(root), CIFAR100_DIRNAME)
    train_x, train_y = _read_batches(directory, (CIFAR100_TRAIN_FILE,), _CIFAR100_FORMAT)
    test_x, test_y = _read_batches(directory, (CIFAR100_TEST_FILE,), _CIFAR100_FORMAT)
    return train_x, train_y, test_x, test_y


def read_imagenet16(root: str | os.PathLike, num_classes: int = IMAGENET16_120_CLASSES
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Downsampled ImageNet 16x16 from ``root/ImageNet16/``, first ``num_classes`` classes:
    ``(train_x, train_y, valid_x, valid_y)``, "valid" being the official ``val_data``.

    Images are uint8 ``(N, 16, 16, 3)``. The files label the 1,000 classes 1..1000; only
    labels 1..num_classes are kept, mapped to 0..num_classes-1, in file order (the official
    ImageNet16-120 keeps 120: 151,700 training and 6,000 validation images). Errors as
    :func:`read_cifar10`.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or not (
            1 <= num_classes <= 1000):
        raise ValueError(f"num_classes must be an int in 1..1000, got {num_classes!r} "
                         f"(ImageNet16-120 keeps {IMAGENET16_120_CLASSES})")
    directory = _require_images(Path(root), IMAGENET16_DIRNAME)
    parts = {}
    for split, names in (("train", IMAGENET16_TRAIN_FILES),
                         ("valid", (IMAGENET16_VALID_FILE,))):
        kept_x, kept_y = [], []
        for name in names:  # filter batch by batch: all 1,000 classes would take ~1 GB
            images, labels = _read_batch(directory / name, _IMAGENET16_FORMAT)
            keep = labels <= num_classes
            kept_x.append(images[keep])
            kept_y.append(labels[keep] - 1)
        parts[split] = (np.ascontiguousarray(np.concatenate(kept_x)), np.concatenate(kept_y))
        if not len(parts[split][1]):
            raise ValueError(f"{directory}: no {split} image has a label in 1..{num_classes} "
                             f"(files {', '.join(names)}); the files are not ImageNet16.")
    return parts["train"] + parts["valid"]


# -- the benchmark's splits ------------------------------------------------------------------
def read_split_file(path: str | os.PathLike, keys: Sequence[str],
                    num_items: int | None = None) -> dict[str, np.ndarray]:
    """The index lists ``keys`` of an official split file (JSON ``{name: ["int", [...]]}``),
    as int64 arrays in file order, checked: integers, no duplicates, pairwise disjoint, and
    in ``0..num_items-1`` when ``num_items`` is given."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist: expected the NAS-Bench-201 split file {path.name} there. "
            f"It ships with the data directory (<data_dir>/{SPLITS_RELPATH.as_posix()}/, from "
            "D-X-Y/AutoDL-Projects configs/nas-benchmark/; see data/README.md).")
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"split file {path}: not JSON ({error}); the file is damaged.") from None
    if not isinstance(content, dict) or any(key not in content for key in keys):
        found = sorted(content) if isinstance(content, dict) else type(content).__name__
        raise ValueError(f"split file {path}: expected the keys {list(keys)}, found {found}.")
    splits: dict[str, np.ndarray] = {}
    for key in keys:
        splits[key] = _split_indices(path, key, content[key], num_items)
    for position, first in enumerate(keys):
        for second in keys[position + 1:]:
            shared = np.intersect1d(splits[first], splits[second])
            if shared.size:
                raise ValueError(f"split file {path}: {shared.size} indices are in both "
                                 f"{first!r} and {second!r} (e.g. {shared[0]}); the halves "
                                 "must be disjoint.")
    return splits


def _split_indices(path: Path, key: str, entry: Any, num_items: int | None) -> np.ndarray:
    if (not isinstance(entry, list) or len(entry) != 2 or entry[0] != "int"
            or not isinstance(entry[1], list)):
        raise ValueError(f"split file {path}: {key!r} is not [\"int\", [indices...]].")
    try:
        indices = np.array([_as_index(value) for value in entry[1]], dtype=np.int64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"split file {path}: {key!r} holds {error.args[0]!r}, not an integer "
                         "index.") from None
    unique, counts = np.unique(indices, return_counts=True)
    if (counts > 1).any():
        raise ValueError(f"split file {path}: index {unique[counts > 1][0]} appears "
                         f"{counts[counts > 1][0]} times in {key!r}; indices must be unique.")
    if num_items is not None:
        _check_in_range(path, key, indices, num_items)
    return indices


def _as_index(value: Any) -> int:
    # the official files write indices as strings ("17"); ints are accepted too, bools and
    # floats are not (int("1.5") fails, int(True) would pass silently)
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(value)
    try:
        return int(value)
    except ValueError:
        raise ValueError(value) from None


def _check_in_range(path: Path, key: str, indices: np.ndarray, num_items: int) -> None:
    outside = (indices < 0) | (indices >= num_items)
    if outside.any():
        raise ValueError(f"split file {path}: index {indices[outside][0]} in {key!r} is outside "
                         f"0..{num_items - 1} (the {num_items:,} images it indexes); the split "
                         "file does not belong to these images.")


def _check_dataset(dataset: str) -> None:
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; valid: {', '.join(DATASETS)} "
                         "(NAS-Bench-201's names, spelled exactly)")


def benchmark_splits(dataset: str, data_dir: str | os.PathLike | None = None) -> ImageSplits:
    """One official dataset's images, split as NAS-Bench-201 splits them.

    * 'cifar10-valid': train / valid = the CIFAR-10 training images at ``cifar-split.txt``'s
      'train' / 'valid' indices (25,000 each); test = the CIFAR-10 test set (the benchmark
      reports cifar10-valid's "test" accuracy on it);
    * 'cifar10': train = all 50,000 training images, no valid, test = the 10,000 test images;
    * 'cifar100': train = all 50,000; valid / test = the test images at
      ``cifar100-test-split.txt``'s 'xvalid' / 'xtest' (5,000 each);
    * 'ImageNet16-120': train = every training image of the 120 classes; valid / test = the
      official validation images at ``imagenet-16-120-test-split.txt``'s 'xvalid' / 'xtest'
      (3,000 each).

    Files are read under the data directory (``data_dir``, else ``$NAR_DATA_DIR``): images in
    ``images/``, split files in ``nb201/official/``.
    """
    _check_dataset(dataset)
    dirname = IMAGE_DIRNAMES[dataset]
    root = require_data_dir(data_dir, holds=f"{(IMAGES_RELPATH / dirname).as_posix()}/",
                            what="image data")
    images_root = root / IMAGES_RELPATH
    # every file is checked (missing images, then a bad split file) before any image is read
    _require_images(images_root, dirname)
    split_path, indices = None, {}
    if dataset in SPLIT_FILES:
        split_path = root / SPLITS_RELPATH / SPLIT_FILES[dataset][0]
        indices = read_split_file(split_path, SPLIT_FILES[dataset][1])
    if dataset == "ImageNet16-120":
        train_x, train_y, test_x, test_y = read_imagenet16(images_root, IMAGENET16_120_CLASSES)
        num_classes = IMAGENET16_120_CLASSES
        files = "train_data_batch_1..10, val_data"
    elif dataset == "cifar100":
        train_x, train_y, test_x, test_y = read_cifar100(images_root)
        num_classes = 100
        files = "train, test"
    else:
        train_x, train_y, test_x, test_y = read_cifar10(images_root)
        num_classes = 10
        files = "data_batch_1..5, test_batch"
    source = f"{images_root / dirname} ({files})"
    train, valid, test = (train_x, train_y), None, (test_x, test_y)
    notes: dict = {}
    if split_path is not None:
        first, second = SPLIT_FILES[dataset][1]
        # cifar10-valid halves the training images; the others halve the test images
        halved = train if dataset == "cifar10-valid" else test
        for key in (first, second):
            _check_in_range(split_path, key, indices[key], len(halved[1]))
        halves = [(halved[0][indices[key]], halved[1][indices[key]]) for key in (first, second)]
        if dataset == "cifar10-valid":
            train, valid = halves
        else:
            valid, test = halves
        source += f"; split {split_path} ({first} / {second})"
        notes["split_file"] = str(split_path)
    preprocessing = PREPROCESSING[dataset]
    return ImageSplits(name=dataset, train=train, valid=valid, test=test,
                       num_classes=num_classes, mean=preprocessing.mean,
                       std=preprocessing.std, crop_padding=preprocessing.crop_padding,
                       is_proxy=False, source=source, notes=notes)


# -- the proxy -------------------------------------------------------------------------------
def _largest_remainder(total: int, counts: np.ndarray) -> np.ndarray:
    """``total`` shared among classes in proportion to ``counts``, summing exactly to it
    (floors first, then one more to the largest remainders, ties to the lower class)."""
    quotas = total * counts / counts.sum()
    shares = np.floor(quotas).astype(np.int64)
    order = np.argsort(-(quotas - shares), kind="stable")
    shares[order[: total - shares.sum()]] += 1
    return shares


def proxy_images(seed: int = 0, image_size: int = 16) -> ImageSplits:
    """A small real image dataset for machines without the benchmark's images.

    scikit-learn's bundled handwritten digits (``sklearn.datasets.load_digits``: 1,797 grey
    8x8 images of 10 classes, shipped inside the package, so nothing is downloaded). Grey
    values 0..16 are scaled to 0..255 (rounded) and resized to ``image_size`` by
    nearest-neighbour sampling (output pixel ``i`` takes input pixel
    ``floor((i + 0.5) * 8 / image_size)``; for 16 that is each pixel repeated 2x2), then copied
    to 3 channels. The split is stratified by class, with ``numpy.random.default_rng(seed)``
    ordering each class: train / valid / test hold exactly 1,000 / 397 / 400 images (each
    class shared in proportion, largest remainders), each in the original order. ``mean`` /
    ``std`` are those of the training pixels (the same for the 3 channels); ``crop_padding``
    is ``image_size // 8`` (2 at 16x16, as ImageNet16-120). The same seed gives the same
    arrays.
    """
    import sklearn
    from sklearn.datasets import load_digits

    if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) or (
            image_size < 1):
        raise ValueError(f"image_size must be a positive int, got {image_size!r}")
    image_size = int(image_size)
    digits = load_digits()
    grey = np.rint(digits.images * (255 / 16)).astype(np.uint8)  # (1797, 8, 8)
    source_side = grey.shape[1]
    pick = ((np.arange(image_size) + 0.5) * source_side / image_size).astype(np.int64)
    grey = grey[:, pick][:, :, pick]
    images = np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=3))
    labels = digits.target.astype(np.int64)

    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    test_share = _largest_remainder(PROXY_SIZES["test"], counts)
    valid_share = _largest_remainder(PROXY_SIZES["valid"], counts)
    chosen: dict[str, list[np.ndarray]] = {"train": [], "valid": [], "test": []}
    for label, n_test, n_valid in zip(classes, test_share, valid_share):
        members = rng.permutation(np.flatnonzero(labels == label))
        chosen["test"].append(members[:n_test])
        chosen["valid"].append(members[n_test:n_test + n_valid])
        chosen["train"].append(members[n_test + n_valid:])
    parts = {}
    for split, pieces in chosen.items():
        rows = np.sort(np.concatenate(pieces))
        parts[split] = (images[rows], labels[rows])
    train_pixels = parts["train"][0][..., 0].astype(np.float64) / 255
    mean, std = float(train_pixels.mean()), float(train_pixels.std())
    return ImageSplits(
        name=PROXY_NAME, train=parts["train"], valid=parts["valid"], test=parts["test"],
        num_classes=len(classes), mean=(mean,) * 3, std=(std,) * 3,
        crop_padding=image_size // 8, is_proxy=True,
        source=(f"scikit-learn {sklearn.__version__} handwritten digits "
                f"(sklearn.datasets.load_digits, 1,797 8x8 images, 10 classes), "
                f"resized to {image_size}x{image_size}, split with seed {seed}"),
        notes={"seed": seed, "image_size": image_size})


# -- choosing the source ---------------------------------------------------------------------
def load_images(dataset: str, data_dir: str | os.PathLike | None = None,
                fallback: str = "error") -> ImageSplits:
    """The official splits of ``dataset`` (:func:`benchmark_splits`) when its image folder
    exists under the data directory (``data_dir``, else ``$NAR_DATA_DIR``).

    Otherwise (no data directory configured, or no ``images/<folder>`` in it):
    ``fallback='error'`` raises the reader's ``FileNotFoundError``; ``fallback='proxy'`` returns
    :func:`proxy_images` with ``notes['proxy_reason']`` saying why and
    ``notes['requested_dataset']``. An image folder that exists is read, and anything wrong in
    it (a damaged file, a missing file, a bad split file) raises even with
    ``fallback='proxy'``: the proxy never stands in for a dataset that is there but broken.
    A configured data directory that does not exist raises too.
    """
    if fallback not in FALLBACKS:
        raise ValueError(f"unknown fallback {fallback!r}; valid: {', '.join(FALLBACKS)}")
    _check_dataset(dataset)
    root = resolve_data_dir(data_dir)
    if root is None:
        if fallback == "error":
            return benchmark_splits(dataset, data_dir)  # raises, saying how to configure one
        reason = ("no data directory is configured (argument data_dir or $NAR_DATA_DIR), so "
                  f"the {dataset} images cannot be read")
    else:
        image_dir = root / IMAGES_RELPATH / IMAGE_DIRNAMES[dataset]
        if image_dir.is_dir() or fallback == "error":
            return benchmark_splits(dataset, root)
        reason = f"{image_dir} does not exist, so the {dataset} images cannot be read"
    proxy = proxy_images()
    return replace(proxy, notes={**proxy.notes, "proxy_reason": reason,
                                 "requested_dataset": dataset})


# -- augmentation and normalisation (torch) -------------------------------------------------
def draw_flip_crop(n: int, padding: int, generator: torch.Generator
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """The random numbers of :func:`random_flip_crop` for ``n`` images, drawn on the CPU from
    ``generator``: flips (``n`` bools, then) offsets (``n`` x 2: top, left, uniform in
    ``0..2*padding``), in that order. Drawing them ahead (a whole epoch's batches in turn)
    takes the same numbers from the generator as drawing them batch by batch."""
    import torch

    if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
        raise ValueError(f"padding must be an int >= 0, got {padding!r}")
    flip = torch.rand(n, generator=generator) < 0.5
    offsets = torch.randint(0, 2 * int(padding) + 1, (n, 2), generator=generator)
    return flip, offsets


def apply_flip_crop(batch: torch.Tensor, padding: int, flip: torch.Tensor,
                    offsets: torch.Tensor) -> torch.Tensor:
    """Flip (where ``flip``) then crop at ``offsets`` a uint8 NHWC batch zero-padded by
    ``padding``; ``flip`` and ``offsets`` on the batch's device. No checks and no host
    synchronisation, so that it can run inside a captured CUDA graph."""
    import torch

    n, height, width, _ = batch.shape
    device = batch.device
    batch = torch.where(flip[:, None, None, None], batch.flip(2), batch)
    if padding == 0:
        return batch
    padded = batch.new_zeros((n, height + 2 * padding, width + 2 * padding, batch.shape[3]))
    padded[:, padding:padding + height, padding:padding + width] = batch
    rows = offsets[:, :1] + torch.arange(height, device=device)  # (n, H)
    cols = offsets[:, 1:] + torch.arange(width, device=device)  # (n, W)
    index = torch.arange(n, device=device)[:, None, None]
    return padded[index, rows[:, :, None], cols[:, None, :]]


def random_flip_crop(batch: torch.Tensor, padding: int, generator: torch.Generator
                     ) -> torch.Tensor:
    """The benchmark's training augmentation, for all images of a uint8 NHWC batch at once:
    a horizontal flip with probability 1/2, then a random crop of the image size from the
    image zero-padded (black) by ``padding`` on every side: the order of the official
    ``RandomHorizontalFlip``, ``RandomCrop``.

    The random numbers are drawn on the CPU from ``generator`` (:func:`draw_flip_crop`), so
    a run draws the same ones on every device; the same generator state gives the same
    output, bit for bit.
    """
    import torch

    if batch.ndim != 4 or batch.dtype != torch.uint8:
        raise ValueError(f"random_flip_crop needs a uint8 NHWC batch, got {batch.dtype} "
                         f"{tuple(batch.shape)}")
    flip, offsets = draw_flip_crop(batch.shape[0], padding, generator)
    return apply_flip_crop(batch, int(padding), flip.to(batch.device),
                           offsets.to(batch.device))


def normalise(batch: torch.Tensor, mean: Sequence[float] | torch.Tensor,
              std: Sequence[float] | torch.Tensor, channels_last: bool = False
              ) -> torch.Tensor:
    """uint8 NHWC images -> float32 NCHW, scaled to 0..1 and normalised per channel
    (the official ``ToTensor`` then ``Normalize``). ``channels_last`` keeps the NHWC memory
    layout that mixed-precision GPU kernels prefer; the CPU's float32 kernels are tuned for
    plain NCHW."""
    import torch

    if batch.ndim != 4 or batch.dtype != torch.uint8:
        raise ValueError(f"normalise needs a uint8 NHWC batch, got {batch.dtype} "
                         f"{tuple(batch.shape)}")
    mean = torch.as_tensor(mean, dtype=torch.float32, device=batch.device)
    std = torch.as_tensor(std, dtype=torch.float32, device=batch.device)
    if mean.shape != (batch.shape[3],) or std.shape != (batch.shape[3],):
        raise ValueError(f"need one mean and std per channel ({batch.shape[3]}), got "
                         f"{tuple(mean.shape)} and {tuple(std.shape)}")
    if not bool((std > 0).all()):
        raise ValueError(f"std must be positive, got {std.tolist()}")
    return scale_normalise(batch, mean, std, channels_last)


def scale_normalise(batch: torch.Tensor, mean: torch.Tensor, std: torch.Tensor,
                    channels_last: bool = False) -> torch.Tensor:
    """:func:`normalise` without its checks (``mean`` and ``std`` tensors on the batch's
    device, already validated): no host synchronisation, so that a GPU training loop never
    waits for it and it can run inside a captured CUDA graph."""
    import torch

    x = batch.float().div_(255.0).sub_(mean).div_(std).permute(0, 3, 1, 2)
    return x.contiguous(memory_format=torch.channels_last if channels_last
                        else torch.contiguous_format)
