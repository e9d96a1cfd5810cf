"""``perf/bench_nk.py --pool-with``: a summary of repeats 0..F-1 pooled with one of F.. equals
the summary of all the runs' rows."""
from __future__ import annotations

import importlib.util
import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from nar_utils.reproduce import runner
from nar_utils.search import nk


def _script():
    spec = importlib.util.spec_from_file_location("bench_nk", runner.ROOT / "perf" / "bench_nk.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows(seeds, rng) -> pd.DataFrame:
    return pd.DataFrame([{"variant": variant, "K": 30, "N": total - 30, "seed": seed,
                          "max_label": rng.normal(73, 1), "best_reported": rng.normal(72, 1),
                          "rho": rng.uniform(0.5, 0.9), "code_seconds": rng.uniform(0, 9),
                          "cost_seconds": rng.uniform(0, 9), "seconds": rng.uniform(0, 9)}
                         for variant in ("a", "b") for total in (100, 200) for seed in seeds])


def test_pooled_summary_equals_the_summary_of_all_rows():
    bench = _script()
    rng = np.random.default_rng(0)
    early, late = _rows(range(18), rng), _rows(range(18, 20), rng)
    pooled = bench._pool(nk.summarise(early), nk.summarise(late))
    whole = nk.summarise(pd.concat([early, late]))
    assert list(pooled.columns) == list(whole.columns)
    assert (pooled["repeats"] == 20).all()
    pd.testing.assert_frame_equal(pooled.reset_index(drop=True), whole.reset_index(drop=True),
                                  check_exact=False, rtol=1e-9, check_dtype=False)


def test_pooling_refuses_a_record_of_other_settings_or_repeats(tmp_path):
    bench = _script()
    rng = np.random.default_rng(1)
    summary = nk.summarise(_rows(range(18), rng)).assign(labels_kind="single")
    settings = {"data_dir": "d", "dataset": "cifar100", "totals": [100, 200], "k": 30,
                "siamese_epochs": 200, "brp_epochs": 250}
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"arguments": {**settings, "repeats": 18},
                                "summary": summary.to_dict("records")}))
    args = SimpleNamespace(**settings, pool_with=str(path), first_repeat=18)
    assert len(bench._earlier_summary(args)) == len(summary)
    with pytest.raises(SystemExit, match="other settings .*brp_epochs"):
        bench._earlier_summary(SimpleNamespace(**{**vars(args), "brp_epochs": 100}))
    with pytest.raises(SystemExit, match="holds 18 repeats; --first-repeat must be that"):
        bench._earlier_summary(SimpleNamespace(**{**vars(args), "first_repeat": 17}))
    path.write_text("{not json")
    with pytest.raises(SystemExit, match="not a record of this script"):
        bench._earlier_summary(args)
