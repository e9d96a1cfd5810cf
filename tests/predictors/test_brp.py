"""BRP-NAS binary relation predictor: antisymmetry, seeds, learning, its arguments."""
from __future__ import annotations

import numpy as np
import pytest
from test_predictors import synthetic_task

from nar_utils import metrics, predictors
from nar_utils.predictors.brp import BRPPredictor
from nar_utils.spaces import nb201

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SMALL = dict(hidden=64, n_layers=3, num_epochs=60, lr=1e-3)


@pytest.fixture(scope="module")
def fitted():
    (train_codes, train_y), (test_codes, test_y) = synthetic_task(n_train=150, seed=3)
    return BRPPredictor(seed=1, **SMALL).fit(train_codes, train_y), test_codes, test_y


def test_pairs_are_antisymmetric_and_predictions_learn_the_order(fitted):
    predictor, codes, y = fitted
    a, b = codes[:100], codes[100:200]
    p_ab, p_ba = predictor.prob_better(a, b), predictor.prob_better(b, a)
    assert p_ab.shape == (100,) and ((p_ab > 0) & (p_ab < 1)).all()
    np.testing.assert_allclose(p_ab + p_ba, 1.0, atol=1e-6)
    np.testing.assert_allclose(predictor.prob_better(a, a), 0.5, atol=1e-6)
    # The pairwise head alone orders held-out pairs better than chance ...
    truth = y[:100] > y[100:200]
    assert np.mean((p_ab > 0.5) == truth) > 0.65
    # ... and so do the scores made from it.
    scores = predictor.predict(codes)
    assert scores.shape == (len(codes),) and ((scores >= 0) & (scores <= 1)).all()
    assert metrics.kendall_tau(y, scores) > 0.35


def test_same_seed_same_predictions_and_made_by_name():
    (codes, y), (test_codes, _) = synthetic_task(n_train=60, n_test=50, seed=5)
    first = predictors.make_predictor("brp", seed=4, dataset="cifar10", hidden=16,
                                      num_epochs=5).fit(codes, y)
    assert isinstance(first, BRPPredictor)
    again = BRPPredictor(seed=4, hidden=16, num_epochs=5).fit(codes, y)
    np.testing.assert_array_equal(first.predict(test_codes), again.predict(test_codes))


def test_references_span_the_training_labels():
    (codes, y), _ = synthetic_task(n_train=40, n_test=10, seed=2)
    predictor = BRPPredictor(hidden=8, num_epochs=1, num_references=5).fit(codes, y)
    refs = predictor._references
    assert len(refs) == 5
    index = [int(np.flatnonzero((codes == r).all(axis=1))[0]) for r in refs]
    np.testing.assert_array_equal(np.sort(y)[[0, 10, 20, 29, 39]], y[index])


def test_bad_arguments_say_what_was_wrong():
    with pytest.raises(ValueError, match="hidden must be a positive int"):
        BRPPredictor(hidden=0)
    with pytest.raises(ValueError, match="num_references must be a positive int"):
        BRPPredictor(num_references=2.5)
    with pytest.raises(ValueError, match="lr must be > 0"):
        BRPPredictor(lr=0)
    predictor = BRPPredictor(hidden=8, num_epochs=1)
    with pytest.raises(RuntimeError, match="not fitted"):
        predictor.prob_better(nb201.all_op_codes()[:2], nb201.all_op_codes()[2:4])
    (codes, y), _ = synthetic_task(n_train=20, n_test=5)
    predictor.fit(codes, y)
    with pytest.raises(ValueError, match="as many cells"):
        predictor.prob_better(codes[:3], codes[:2])

