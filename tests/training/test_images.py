"""The image readers, the benchmark's splits, the proxy, and the augmentation helpers.

Unit tests write small files in each official format into tmp_path (no image data exists on
CI machines); the real NB201 split files are read when a data directory is configured.
"""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from nar_utils.benchmarks import datadir
from nar_utils.training import images as im
from nar_utils.training.splits import ImageSplits

CIFAR_TRAIN_PER_BATCH = 20
CIFAR_TEST = 20


# -- writing small files in the official formats -----------------------------------------------
def _dump(path: Path, content, protocol: int = 2) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as stream:
        pickle.dump(content, stream, protocol=protocol)  # 2: as the python-2 era originals


def _cifar_batch(rng, count: int, labels_key: bytes, num_labels: int) -> dict:
    return {b"batch_label": b"a test batch",
            b"data": rng.integers(0, 256, (count, 3072), dtype=np.uint8),
            labels_key: rng.integers(0, num_labels, count).tolist(),
            b"filenames": [b"img_%d.png" % i for i in range(count)]}


def _write_cifar10(images_root: Path, seed: int = 0) -> dict[str, tuple[np.ndarray, list]]:
    """Five training batches and a test batch of CIFAR_* images; the raw (data, labels)."""
    rng = np.random.default_rng(seed)
    directory = images_root / im.CIFAR10_DIRNAME
    train = [_cifar_batch(rng, CIFAR_TRAIN_PER_BATCH, b"labels", 10) for _ in range(5)]
    test = _cifar_batch(rng, CIFAR_TEST, b"labels", 10)
    train[0][b"labels"][:10] = list(range(10))  # every class is there
    for name, batch in zip(im.CIFAR10_TRAIN_FILES, train):
        _dump(directory / name, batch)
    _dump(directory / im.CIFAR10_TEST_FILE, test)
    return {"train": (np.concatenate([b[b"data"] for b in train]),
                      [label for b in train for label in b[b"labels"]]),
            "test": (test[b"data"], test[b"labels"])}


def _write_cifar100(images_root: Path, seed: int = 1) -> dict[str, tuple[np.ndarray, list]]:
    rng = np.random.default_rng(seed)
    directory = images_root / im.CIFAR100_DIRNAME
    train = _cifar_batch(rng, 40, b"fine_labels", 100)
    test = _cifar_batch(rng, 30, b"fine_labels", 100)
    train[b"coarse_labels"] = [0] * 40
    train[b"fine_labels"][:2] = [0, 99]
    _dump(directory / im.CIFAR100_TRAIN_FILE, train)
    _dump(directory / im.CIFAR100_TEST_FILE, test)
    return {"train": (train[b"data"], train[b"fine_labels"]),
            "test": (test[b"data"], test[b"fine_labels"])}


def _imagenet_batch(rng, count: int) -> dict:
    labels = rng.integers(1, 1001, count)
    labels[rng.permutation(count)[: count // 2]] = rng.integers(1, 121, count // 2)
    labels[:4] = [1, 120, 121, 1000]  # both ends of the kept range and of the dropped one
    return {"data": rng.integers(0, 256, (count, 768), dtype=np.uint8),
            "labels": labels.tolist(), "mean": np.zeros(768)}


def _write_imagenet16(images_root: Path, seed: int = 2) -> dict[str, tuple[np.ndarray, list]]:
    """Ten training batches of 12 images and a validation file of 40, labels 1..1000."""
    rng = np.random.default_rng(seed)
    directory = images_root / im.IMAGENET16_DIRNAME
    train = [_imagenet_batch(rng, 12) for _ in range(10)]
    valid = _imagenet_batch(rng, 40)
    del valid["mean"]
    for name, batch in zip(im.IMAGENET16_TRAIN_FILES, train):
        _dump(directory / name, batch, protocol=pickle.DEFAULT_PROTOCOL)
    _dump(directory / im.IMAGENET16_VALID_FILE, valid, protocol=pickle.DEFAULT_PROTOCOL)
    return {"train": (np.concatenate([b["data"] for b in train]),
                      [label for b in train for label in b["labels"]]),
            "valid": (valid["data"], valid["labels"])}


def _write_split(data_dir: Path, name: str, halves: dict[str, list[int]]) -> Path:
    """A split file as the official ones: indices written as strings."""
    path = data_dir / im.SPLITS_RELPATH / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({key: ["int", [str(i) for i in values]]
                                for key, values in halves.items()}))
    return path


def _nhwc(data: np.ndarray, side: int) -> np.ndarray:
    """The reference conversion, pixel by pixel index arithmetic (not the reader's reshape)."""
    n = len(data)
    out = np.empty((n, side, side, 3), dtype=np.uint8)
    for channel in range(3):
        plane = data[:, channel * side * side:(channel + 1) * side * side]
        out[..., channel] = plane.reshape(n, side, side)
    return out


@pytest.fixture
def cifar10_dir(tmp_path):
    raw = _write_cifar10(tmp_path / "images")
    return tmp_path, raw


@pytest.fixture
def cifar100_dir(tmp_path):
    return tmp_path, _write_cifar100(tmp_path / "images")


@pytest.fixture
def imagenet_dir(tmp_path):
    return tmp_path, _write_imagenet16(tmp_path / "images")


@pytest.fixture(scope="module")
def proxy() -> ImageSplits:
    return im.proxy_images()


# -- readers ----------------------------------------------------------------------------------
def test_read_cifar10_shapes_labels_and_layout(cifar10_dir):
    root, raw = cifar10_dir
    train_x, train_y, test_x, test_y = im.read_cifar10(root / "images")
    assert train_x.shape == (5 * CIFAR_TRAIN_PER_BATCH, 32, 32, 3)
    assert test_x.shape == (CIFAR_TEST, 32, 32, 3)
    assert train_x.dtype == test_x.dtype == np.uint8
    assert train_y.dtype == test_y.dtype == np.int64
    assert train_x.flags.c_contiguous
    np.testing.assert_array_equal(train_y, raw["train"][1])
    np.testing.assert_array_equal(test_y, raw["test"][1])
    np.testing.assert_array_equal(train_x, _nhwc(raw["train"][0], 32))
    np.testing.assert_array_equal(test_x, _nhwc(raw["test"][0], 32))


def test_channel_major_rows_become_nhwc(tmp_path):
    # one known pixel per channel: R at (row 1, col 2), G at (3, 4), B at (31, 0)
    data = np.zeros((2, 3072), dtype=np.uint8)
    data[1, 0 * 1024 + 1 * 32 + 2] = 200
    data[1, 1 * 1024 + 3 * 32 + 4] = 100
    data[1, 2 * 1024 + 31 * 32 + 0] = 50
    directory = tmp_path / im.CIFAR10_DIRNAME
    for name in im.CIFAR10_TRAIN_FILES + (im.CIFAR10_TEST_FILE,):
        _dump(directory / name, {b"data": data, b"labels": [3, 7]})
    train_x, train_y, _, _ = im.read_cifar10(tmp_path)
    image = train_x[1]
    assert image[1, 2, 0] == 200 and image[3, 4, 1] == 100 and image[31, 0, 2] == 50
    assert int(image.sum()) == 350 and not train_x[0].any()
    assert train_y.tolist() == [3, 7] * 5


def test_read_cifar100_fine_labels(cifar100_dir):
    root, raw = cifar100_dir
    train_x, train_y, test_x, test_y = im.read_cifar100(root / "images")
    assert train_x.shape == (40, 32, 32, 3) and test_x.shape == (30, 32, 32, 3)
    np.testing.assert_array_equal(test_y, raw["test"][1])
    assert train_y.dtype == np.int64 and train_y[:2].tolist() == [0, 99]
    np.testing.assert_array_equal(train_y, raw["train"][1])
    np.testing.assert_array_equal(test_x, _nhwc(raw["test"][0], 32))


def test_read_imagenet16_keeps_the_first_classes_zero_based(imagenet_dir):
    root, raw = imagenet_dir
    train_x, train_y, valid_x, valid_y = im.read_imagenet16(root / "images")
    for (x, y), (data, labels) in (((train_x, train_y), raw["train"]),
                                   ((valid_x, valid_y), raw["valid"])):
        labels = np.asarray(labels)
        keep = labels <= 120
        assert 0 < keep.sum() < len(labels)  # the filter drops some and keeps some
        assert x.shape == (keep.sum(), 16, 16, 3) and x.dtype == np.uint8
        assert y.dtype == np.int64
        np.testing.assert_array_equal(y, labels[keep] - 1)  # file order, 0-based
        np.testing.assert_array_equal(x, _nhwc(data[keep], 16))
    assert train_y.min() == 0 and train_y.max() == 119  # labels 1 and 120 are in every batch
    _, few_y, _, _ = im.read_imagenet16(root / "images", num_classes=10)
    assert few_y.max() <= 9
    np.testing.assert_array_equal(few_y, np.asarray(raw["train"][1])[
        np.asarray(raw["train"][1]) <= 10] - 1)
    for bad in (0, 1001, 12.0, True):
        with pytest.raises(ValueError, match="num_classes"):
            im.read_imagenet16(root / "images", num_classes=bad)


# -- reader errors ----------------------------------------------------------------------------
def test_missing_directory_says_what_and_where_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"cifar-10-batches-py is not a directory.*"
                                                r"data_batch_1\.\.5.*toronto.*<data_dir>/images"):
        im.read_cifar10(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"cifar-100-python.*University of Toronto"):
        im.read_cifar100(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"ImageNet16 is not a directory.*Downsampled "
                                                r"ImageNet.*NAS-Bench-201.*images/ImageNet16"):
        im.read_imagenet16(tmp_path)


def test_missing_file_is_named(cifar10_dir, imagenet_dir):
    root, _ = cifar10_dir
    (root / "images" / im.CIFAR10_DIRNAME / "data_batch_3").unlink()
    (root / "images" / im.CIFAR10_DIRNAME / "test_batch").unlink()
    with pytest.raises(FileNotFoundError, match=r"data_batch_3 does not exist.*missing: "
                                                r"data_batch_3, test_batch"):
        im.read_cifar10(root / "images")
    (root / "images" / im.IMAGENET16_DIRNAME / "val_data").unlink()
    with pytest.raises(FileNotFoundError, match=r"ImageNet16/val_data does not exist"):
        im.read_imagenet16(root / "images")


def _damage(path: Path, how: str) -> None:
    if how == "not a pickle":
        path.write_bytes(b"this is a text file, not a pickle\n")
    elif how == "truncated":
        blob = path.read_bytes()
        path.write_bytes(blob[: len(blob) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    else:
        batch = pickle.loads(path.read_bytes(), encoding="bytes")
        {"wrong key": lambda: batch.update({b"label": batch.pop(b"labels")}),
         "wrong shape": lambda: batch.update({b"data": batch[b"data"][:, :3000]}),
         "wrong dtype": lambda: batch.update({b"data": batch[b"data"].astype(np.float32)}),
         "label out of range": lambda: batch[b"labels"].__setitem__(5, 10),
         "negative label": lambda: batch[b"labels"].__setitem__(5, -1),
         "float labels": lambda: batch.update({b"labels": [0.5] * len(batch[b"labels"])}),
         "labels count": lambda: batch[b"labels"].pop(),
         }[how]()
        _dump(path, batch)


@pytest.mark.parametrize("how, message", [
    ("not a pickle", "not a readable python pickle"),
    ("truncated", r"ends early \(truncated\)"),
    ("empty", r"ends early \(truncated\)"),
    ("wrong key", r"no key b'labels'; it has"),
    ("wrong shape", r"uint8 \(20, 3000\); expected a uint8 array \(N, 3072\)"),
    ("wrong dtype", r"float32 \(20, 3072\)"),
    ("label out of range", r"label 10 \(position 5\) is outside 0\.\.9"),
    ("negative label", r"label -1 \(position 5\) is outside 0\.\.9"),
    ("float labels", r"expected a list of integer labels"),
    ("labels count", r"20 images but 19 labels"),
])
def test_damaged_cifar_file_is_refused_naming_it(cifar10_dir, how, message):
    root, _ = cifar10_dir
    path = root / "images" / im.CIFAR10_DIRNAME / "data_batch_4"
    _damage(path, how)
    with pytest.raises(ValueError, match=message) as caught:
        im.read_cifar10(root / "images")
    assert str(path) in str(caught.value)


def test_pickle_of_other_objects_is_refused(cifar10_dir):
    root, _ = cifar10_dir
    path = root / "images" / im.CIFAR10_DIRNAME / "test_batch"
    _dump(path, {b"data": print, b"labels": []})  # a global other than numpy's arrays
    with pytest.raises(ValueError, match=r"test_batch: refusing to load "
                                         r"(__builtin__|builtins)\.print"):
        im.read_cifar10(root / "images")
    _dump(path, [1, 2, 3])
    with pytest.raises(ValueError, match=r"test_batch: holds a list, not the dict"):
        im.read_cifar10(root / "images")


def test_numpy_1_pickles_load_without_warnings(cifar10_dir, recwarn):
    # files pickled by numpy 1 (as the originals) name numpy.core, which numpy 2 renamed
    root, raw = cifar10_dir
    path = root / "images" / im.CIFAR10_DIRNAME / "test_batch"
    blob = pickle.dumps({b"data": raw["test"][0], b"labels": raw["test"][1]}, protocol=2)
    if b"numpy._core.multiarray" in blob:
        blob = blob.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    assert b"cnumpy.core.multiarray\n_reconstruct" in blob
    path.write_bytes(blob)
    _, _, test_x, test_y = im.read_cifar10(root / "images")
    np.testing.assert_array_equal(test_x, _nhwc(raw["test"][0], 32))
    np.testing.assert_array_equal(test_y, raw["test"][1])
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]


def test_imagenet16_label_range_is_1_to_1000(imagenet_dir):
    root, _ = imagenet_dir
    path = root / "images" / im.IMAGENET16_DIRNAME / "train_data_batch_7"
    batch = pickle.loads(path.read_bytes())
    batch["labels"][3] = 0  # 0-based label: not the official 1-based file
    _dump(path, batch)
    with pytest.raises(ValueError, match=r"train_data_batch_7: label 0 .*outside 1\.\.1000"):
        im.read_imagenet16(root / "images")
    batch["labels"][3] = 1
    batch["data"] = batch["data"][:, :700]
    _dump(path, batch)
    with pytest.raises(ValueError, match=r"\(N, 768\) of 3x16x16"):
        im.read_imagenet16(root / "images")


# -- split files ------------------------------------------------------------------------------
def test_read_split_file_parses_and_validates(tmp_path):
    path = _write_split(tmp_path, "s.txt", {"train": [4, 0, 2], "valid": [1, 3]})
    splits = im.read_split_file(path, ("train", "valid"), num_items=5)
    assert splits["train"].dtype == np.int64 and splits["train"].tolist() == [4, 0, 2]
    assert splits["valid"].tolist() == [1, 3]
    bad_files = [
        ({"train": ["int", ["0", "1"]], "valid": ["int", ["1", "2"]]}, "in both 'train' and"),
        ({"train": ["int", ["0", "0"]], "valid": ["int", ["1"]]}, "index 0 appears 2 times"),
        ({"train": ["int", ["0", "1.5"]], "valid": ["int", ["2"]]}, "holds '1.5', not an int"),
        ({"train": ["int", [0, True]], "valid": ["int", ["2"]]}, "holds True, not an int"),
        ({"train": ["int", ["0"]], "valid": ["int", ["9"]]}, r"index 9 in 'valid' is outside"),
        ({"train": ["int", ["-1"]], "valid": ["int", ["2"]]}, r"index -1 in 'train'"),
        ({"train": ["str", ["0"]], "valid": ["int", ["2"]]}, r"'train' is not \[\"int\""),
        ({"train": ["int", ["0"]]}, r"expected the keys \['train', 'valid'\], found \['train'\]"),
        ([1, 2], r"expected the keys .* found list"),
    ]
    for content, message in bad_files:
        path.write_text(json.dumps(content))
        with pytest.raises(ValueError, match=message) as caught:
            im.read_split_file(path, ("train", "valid"), num_items=5)
        assert "split file" in str(caught.value) and str(path) in str(caught.value)
    path.write_text("{not json")
    with pytest.raises(ValueError, match=r"s\.txt: not JSON"):
        im.read_split_file(path, ("train", "valid"))
    with pytest.raises(FileNotFoundError, match=r"missing\.txt does not exist.*split file"):
        im.read_split_file(tmp_path / "missing.txt", ("train", "valid"))


@pytest.fixture
def official_split_paths(data_dir: Path) -> Path:
    directory = data_dir / im.SPLITS_RELPATH
    if not (directory / "cifar-split.txt").is_file():
        pytest.skip(f"no NB201 split files in {directory}")
    return directory


@pytest.mark.parametrize("dataset, size, num_items", [
    ("cifar10-valid", 25_000, 50_000), ("cifar100", 5_000, 10_000),
    ("ImageNet16-120", 3_000, 6_000)])
def test_official_split_files(official_split_paths, dataset, size, num_items):
    name, keys = im.SPLIT_FILES[dataset]
    splits = im.read_split_file(official_split_paths / name, keys, num_items=num_items)
    first, second = (splits[key] for key in keys)
    assert len(first) == len(second) == size
    assert not np.intersect1d(first, second).size
    # the halves cover every image they index
    np.testing.assert_array_equal(np.sort(np.concatenate([first, second])),
                                  np.arange(num_items))


# -- the benchmark's splits -------------------------------------------------------------------
def test_cifar10_valid_splits_the_training_images(cifar10_dir):
    root, raw = cifar10_dir
    order = np.random.default_rng(5).permutation(100)
    train_idx, valid_idx = order[:60], order[60:]
    split_path = _write_split(root, "cifar-split.txt",
                              {"train": train_idx.tolist(), "valid": valid_idx.tolist()})
    splits = im.benchmark_splits("cifar10-valid", root)
    all_x, all_y = _nhwc(raw["train"][0], 32), np.asarray(raw["train"][1])
    np.testing.assert_array_equal(splits.train[0], all_x[train_idx])
    np.testing.assert_array_equal(splits.train[1], all_y[train_idx])
    np.testing.assert_array_equal(splits.valid[0], all_x[valid_idx])
    np.testing.assert_array_equal(splits.test[1], raw["test"][1])  # the test set is kept
    assert splits.sizes() == {"train": 60, "valid": 40, "test": CIFAR_TEST}
    assert splits.name == "cifar10-valid" and not splits.is_proxy and splits.num_classes == 10
    assert splits.mean == pytest.approx((125.3 / 255, 123.0 / 255, 113.9 / 255))
    assert splits.std == pytest.approx((63.0 / 255, 62.1 / 255, 66.7 / 255))
    assert splits.crop_padding == 4 and splits.image_size == 32
    assert im.CIFAR10_DIRNAME in splits.source and str(split_path) in splits.source


def test_cifar10_has_no_validation_split(cifar10_dir, monkeypatch):
    root, raw = cifar10_dir
    monkeypatch.setenv(datadir.ENV_DATA_DIR, str(root))  # the one data-directory rule
    splits = im.benchmark_splits("cifar10")
    assert splits.valid is None and splits.sizes() == {"train": 100, "valid": 0, "test": 20}
    np.testing.assert_array_equal(splits.train[1], raw["train"][1])


def test_cifar100_halves_the_test_images(cifar100_dir):
    root, raw = cifar100_dir
    _write_split(root, "cifar100-test-split.txt", {"xvalid": [1, 3, 5, 7], "xtest": [0, 2, 29]})
    splits = im.benchmark_splits("cifar100", root)
    test_x, test_y = _nhwc(raw["test"][0], 32), np.asarray(raw["test"][1])
    np.testing.assert_array_equal(splits.valid[0], test_x[[1, 3, 5, 7]])
    np.testing.assert_array_equal(splits.test[1], test_y[[0, 2, 29]])
    assert splits.sizes() == {"train": 40, "valid": 4, "test": 3}
    assert splits.num_classes == 100 and splits.mean == im.PREPROCESSING["cifar10"].mean


def test_imagenet16_120_halves_the_validation_images(imagenet_dir):
    root, raw = imagenet_dir
    labels = np.asarray(raw["valid"][1])
    kept = int((labels <= 120).sum())
    _write_split(root, "imagenet-16-120-test-split.txt",
                 {"xvalid": list(range(0, kept, 2)), "xtest": list(range(1, kept, 2))})
    splits = im.benchmark_splits("ImageNet16-120", root)
    valid_x = _nhwc(raw["valid"][0][labels <= 120], 16)
    np.testing.assert_array_equal(splits.valid[0], valid_x[0::2])
    np.testing.assert_array_equal(splits.test[1], labels[labels <= 120][1::2] - 1)
    assert splits.num_classes == 120 and splits.crop_padding == 2 and splits.image_size == 16
    assert splits.mean == pytest.approx((122.68 / 255, 116.66 / 255, 104.01 / 255))
    assert splits.std == pytest.approx((63.22 / 255, 61.26 / 255, 65.09 / 255))
    # an index into the unfiltered file (beyond the 120 classes' images) is refused
    _write_split(root, "imagenet-16-120-test-split.txt", {"xvalid": [0], "xtest": [kept]})
    with pytest.raises(ValueError, match=rf"imagenet-16-120-test-split\.txt: index {kept} in "
                                         rf"'xtest' is outside 0\.\.{kept - 1}"):
        im.benchmark_splits("ImageNet16-120", root)


def test_benchmark_splits_refuses_unknown_names_and_bad_split_files(cifar10_dir):
    root, _ = cifar10_dir
    for name in ("cifar10_valid", "ImageNet16", "imagenet16-120", "CIFAR10"):
        with pytest.raises(ValueError, match=r"unknown dataset .* valid: cifar10-valid, "
                                             r"cifar10, cifar100, ImageNet16-120"):
            im.benchmark_splits(name, root)
    with pytest.raises(FileNotFoundError, match=r"cifar-split\.txt does not exist"):
        im.benchmark_splits("cifar10-valid", root)
    _write_split(root, "cifar-split.txt", {"train": [0, 1], "valid": [100]})
    with pytest.raises(ValueError, match=r"cifar-split\.txt: index 100 in 'valid' is outside "
                                         r"0\.\.99"):
        im.benchmark_splits("cifar10-valid", root)


# -- load_images ------------------------------------------------------------------------------
def test_load_images_falls_back_only_when_told(tmp_path, monkeypatch, proxy):
    monkeypatch.delenv(datadir.ENV_DATA_DIR, raising=False)
    splits = im.load_images("cifar10", fallback="proxy")
    assert splits.is_proxy and splits.name == im.PROXY_NAME
    assert "no data directory" in splits.notes["proxy_reason"]
    assert splits.notes["requested_dataset"] == "cifar10"
    np.testing.assert_array_equal(splits.train[0], proxy.train[0])
    with pytest.raises(FileNotFoundError, match="pass data_dir, or set \\$NAR_DATA_DIR"):
        im.load_images("cifar10")
    # a data directory without the images (as ../shared/data)
    splits = im.load_images("cifar100", tmp_path, fallback="proxy")
    assert splits.is_proxy and str(tmp_path / "images" / "cifar-100-python") in (
        splits.notes["proxy_reason"])
    with pytest.raises(FileNotFoundError, match=r"cifar-100-python is not a directory"):
        im.load_images("cifar100", tmp_path, fallback="error")
    with pytest.raises(FileNotFoundError, match="is not a directory"):  # a wrong path is no
        im.load_images("cifar10", tmp_path / "nowhere", fallback="proxy")  # reason to fall back


def test_load_images_reads_what_is_there_and_hides_no_damage(cifar10_dir):
    root, _ = cifar10_dir
    splits = im.load_images("cifar10", root, fallback="proxy")
    assert not splits.is_proxy and splits.name == "cifar10" and splits.sizes()["train"] == 100
    _damage(root / "images" / im.CIFAR10_DIRNAME / "data_batch_2", "truncated")
    with pytest.raises(ValueError, match=r"data_batch_2: the file ends early"):
        im.load_images("cifar10", root, fallback="proxy")
    (root / "images" / im.CIFAR10_DIRNAME / "data_batch_2").unlink()  # an incomplete download
    with pytest.raises(FileNotFoundError, match=r"data_batch_2 does not exist"):
        im.load_images("cifar10", root, fallback="proxy")


def test_load_images_refuses_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"unknown fallback 'embedded'; valid: error, proxy"):
        im.load_images("cifar10", tmp_path, fallback="embedded")
    with pytest.raises(ValueError, match=r"unknown dataset 'mnist'"):
        im.load_images("mnist", tmp_path, fallback="proxy")


# -- the proxy --------------------------------------------------------------------------------
def test_proxy_sizes_classes_and_range(proxy):
    assert proxy.name == "proxy-digits" and proxy.is_proxy and proxy.num_classes == 10
    assert proxy.sizes() == {"train": 1000, "valid": 397, "test": 400} == im.PROXY_SIZES
    assert "scikit-learn" in proxy.source and "load_digits" in proxy.source
    import sklearn
    assert sklearn.__version__ in proxy.source
    all_labels = np.concatenate([proxy.split(s)[1] for s in ("train", "valid", "test")])
    class_share = np.bincount(all_labels) / len(all_labels)
    for split in ("train", "valid", "test"):
        x, y = proxy.split(split)
        assert x.dtype == np.uint8 and x.shape == (len(y), 16, 16, 3) and y.dtype == np.int64
        assert set(y.tolist()) == set(range(10))
        # stratified: every class within one image of its proportional share
        assert np.abs(np.bincount(y) - class_share * len(y)).max() <= 1
        assert np.array_equal(x[..., 0], x[..., 1]) and np.array_equal(x[..., 0], x[..., 2])
        assert np.array_equal(x[:, 0::2, 0::2], x[:, 1::2, 1::2])  # 2x2 nearest-neighbour
    train_x = proxy.train[0]
    assert train_x.min() == 0 and train_x.max() == 255
    assert proxy.mean[0] == pytest.approx(train_x.mean() / 255)
    assert proxy.std[0] == pytest.approx(train_x.std() / 255)
    assert proxy.crop_padding == 2 and proxy.image_size == 16


def test_proxy_is_deterministic_per_seed(proxy):
    again = im.proxy_images(seed=0)
    other = im.proxy_images(seed=1)
    for split in ("train", "valid", "test"):
        np.testing.assert_array_equal(again.split(split)[0], proxy.split(split)[0])
        np.testing.assert_array_equal(again.split(split)[1], proxy.split(split)[1])
    assert not np.array_equal(other.test[0], proxy.test[0])
    assert other.sizes() == proxy.sizes()


def test_proxy_other_sizes():
    large = im.proxy_images(image_size=32)
    assert large.image_size == 32 and large.crop_padding == 4
    assert np.array_equal(large.train[0][:, 0::4, 0::4], large.train[0][:, 3::4, 3::4])
    odd = im.proxy_images(image_size=12)
    assert odd.train[0].shape[1:] == (12, 12, 3)
    for bad in (0, -16, 16.0):
        with pytest.raises(ValueError, match="image_size"):
            im.proxy_images(image_size=bad)


# -- augmentation and normalisation -----------------------------------------------------------
def test_normalise_scales_and_lays_out_channels():
    images = torch.from_numpy(np.arange(2 * 4 * 5 * 3, dtype=np.uint8).reshape(2, 4, 5, 3))
    mean, std = (0.5, 0.25, 0.0), (0.5, 0.25, 2.0)
    x = im.normalise(images, mean, std)
    assert x.dtype == torch.float32 and tuple(x.shape) == (2, 3, 4, 5)
    for channel in range(3):
        expected = (images[..., channel].float() / 255 - mean[channel]) / std[channel]
        torch.testing.assert_close(x[:, channel], expected)
    assert x[0, 0, 0, 0].item() == pytest.approx(-1.0)  # black pixel, mean 0.5, std 0.5
    assert im.normalise(images, mean, std, channels_last=True).is_contiguous(
        memory_format=torch.channels_last)
    with pytest.raises(ValueError, match="uint8 NHWC"):
        im.normalise(images.float(), mean, std)
    with pytest.raises(ValueError, match="one mean and std per channel"):
        im.normalise(images, (0.5,), (0.5,))
    with pytest.raises(ValueError, match="std must be positive"):
        im.normalise(images, mean, (0.5, 0.0, 1.0))


def test_augmentation_is_flip_then_padded_crop():
    rng = np.random.default_rng(5)
    batch = torch.from_numpy(rng.integers(0, 256, (64, 8, 8, 3)).astype(np.uint8))
    out = im.random_flip_crop(batch, 2, torch.Generator().manual_seed(11))
    replay = torch.Generator().manual_seed(11)  # the documented draws, image by image
    flips = torch.rand(64, generator=replay) < 0.5
    offsets = torch.randint(0, 5, (64, 2), generator=replay)
    assert 0 < int(flips.sum()) < 64 and (offsets != 2).any()  # both branches happen
    for k in range(64):
        image = batch[k].numpy()
        if flips[k]:
            image = image[:, ::-1]
        padded = np.pad(image, ((2, 2), (2, 2), (0, 0)))  # black padding
        top, left = offsets[k].tolist()
        assert np.array_equal(out[k].numpy(), padded[top:top + 8, left:left + 8])
    assert torch.equal(out, im.random_flip_crop(batch, 2, torch.Generator().manual_seed(11)))
    assert not torch.equal(out, im.random_flip_crop(batch, 2, torch.Generator().manual_seed(12)))
    # without padding the crop keeps every image whole: only flips remain
    flipped = im.random_flip_crop(batch, 0, torch.Generator().manual_seed(3))
    flips = torch.rand(64, generator=torch.Generator().manual_seed(3)) < 0.5
    for k in range(64):
        assert torch.equal(flipped[k], batch[k].flip(1) if flips[k] else batch[k])
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="padding"):
            im.random_flip_crop(batch, bad, torch.Generator())
    with pytest.raises(ValueError, match="uint8 NHWC"):
        im.random_flip_crop(batch.float(), 2, torch.Generator())


def test_preprocessing_table():
    assert set(im.PREPROCESSING) == set(im.DATASETS)
    assert im.PREPROCESSING["cifar10-valid"] == im.PREPROCESSING["cifar100"]
    assert im.PREPROCESSING["cifar10"].crop_padding == 4
    assert im.PREPROCESSING["ImageNet16-120"].crop_padding == 2
    assert im.PREPROCESSING["ImageNet16-120"].mean[0] == pytest.approx(122.68 / 255)
