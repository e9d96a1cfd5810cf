"""Siamese-NAS estimation codes: the short training run, its cache, the table variant, and
their cost on the ledger. Tiny networks (C = 4, N = 1) on tiny generated images."""
from __future__ import annotations

import math

import numpy as np
import pytest

from nar_utils.predictors.siamese import (
    CodeCache,
    CodeSettings,
    estimation_code,
    stack_codes,
    table_code,
)
from nar_utils.search.ledger import BudgetExhausted, ledger_for
from nar_utils.spaces import nb201
from nar_utils.training.splits import ImageSplits

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = {"channels": 4, "cells_per_stage": 1, "subset_size": 64}
ARCH = nb201.RESNET_ARCH


def tiny_images(n=96, size=8, classes=3, seed=0) -> ImageSplits:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    x = rng.integers(0, 100, (n, size, size, 3)).astype(np.uint8)
    x[np.arange(n), :, :, y % 3] += 120
    return ImageSplits("proxy-synthetic", (x, y.astype(np.int64)), None, None, classes,
                       (0.4,) * 3, (0.25,) * 3, 2, is_proxy=True)


IMAGES = tiny_images()


def test_a_code_has_one_mean_loss_per_epoch_and_repeats_under_its_seed():
    code = estimation_code(ARCH, IMAGES, seed=1, settings=TINY)
    assert code.kind == "trained" and len(code.values) == 3 and code.seconds > 0
    assert all(0 < v < 5 for v in code.values)
    again = estimation_code(ARCH, IMAGES, seed=1, settings=TINY)
    assert again.values == code.values
    assert estimation_code(ARCH, IMAGES, seed=2, settings=TINY).values != code.values
    other = estimation_code("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", IMAGES, seed=1,
                            settings=TINY)
    assert other.values != code.values


def test_a_cached_code_equals_a_fresh_run(tmp_path):
    cache = CodeCache(tmp_path)
    first, cached = cache.get(ARCH, IMAGES, seed=3, settings=TINY)
    second, from_cache = cache.get(ARCH, IMAGES, seed=3, settings=TINY)
    assert not cached and from_cache and second == first
    assert estimation_code(ARCH, IMAGES, seed=3, settings=TINY).values == first.values
    _, other_seed = cache.get(ARCH, IMAGES, seed=4, settings=TINY)
    assert not other_seed
    path = cache.path(ARCH, IMAGES, 3, TINY)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="damaged"):
        cache.get(ARCH, IMAGES, seed=3, settings=TINY)


def test_codes_of_different_kinds_or_settings_are_never_mixed(table):
    trained = [estimation_code(ARCH, IMAGES, seed=0, settings=TINY)] * 2
    assert stack_codes(trained).shape == (2, 3)
    from_table = table_code(table, 5, "cifar100")
    assert from_table.kind == "table-12epoch"
    assert from_table.values == (table.get_more_info(5, "cifar100", hp="12")["valid-accuracy"],)
    with pytest.raises(ValueError, match="differ in kind"):
        stack_codes([trained[0], from_table])
    longer = estimation_code(ARCH, IMAGES, seed=0, settings={**TINY, "epochs": 4})
    with pytest.raises(ValueError, match="differ in settings"):
        stack_codes([trained[0], longer])


def test_the_ledger_charges_codes_and_labels(table):
    ledger = ledger_for(table, "cifar10", max_time=5000.0)
    code = table_code(table, 7, "cifar10")
    ledger.charge_seconds(code.seconds, "estimation code 7")
    assert ledger.time_used == pytest.approx(code.seconds) and ledger.num_queries == 0
    ledger.query(7)
    assert ledger.time_used > code.seconds and ledger.num_queries == 1
    assert ledger.extra_charges == [("estimation code 7", code.seconds)]
    with pytest.raises(BudgetExhausted):
        ledger.charge_seconds(10_000.0, "too much")
    assert ledger.extra_charges[-1][0] == "estimation code 7"  # nothing charged
    with pytest.raises(ValueError, match="non-negative"):
        ledger_for(table, "cifar10").charge_seconds(-1.0, "negative")
    assert math.isfinite(ledger.time_used)


@pytest.mark.parametrize("settings, message", [
    ({"epochs": 0}, "epochs"), ({"subset_size": 8}, "below one batch"),
    ({"lr": 0.0}, "lr"), ({"label_smoothing": 1.0}, "label_smoothing"),
    ({"epoch": 3}, "unknown code setting"),
])
def test_bad_settings_are_refused(settings, message):
    with pytest.raises(ValueError, match=message):
        estimation_code(ARCH, IMAGES, settings={**TINY, **settings})


def test_too_few_images_and_bad_seeds_are_refused():
    with pytest.raises(ValueError, match="fewer than subset_size"):
        estimation_code(ARCH, tiny_images(n=32), settings=TINY)
    with pytest.raises(ValueError, match="seed"):
        estimation_code(ARCH, IMAGES, seed=-1, settings=TINY)
    assert isinstance(CodeSettings(), CodeSettings)



def test_codes_train_even_under_no_grad():
    import torch

    fresh = estimation_code(ARCH, IMAGES, seed=0, settings=TINY)
    with torch.no_grad():
        inside = estimation_code(ARCH, IMAGES, seed=0, settings=TINY)
    assert inside.values == fresh.values
