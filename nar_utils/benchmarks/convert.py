"""Convert the official NAS-Bench-201 / NATS-Bench files into this book's NB201 table.

Users who hold the official benchmark file can build ``nb201/nb201.csv.gz`` themselves::

    from nas_201_api import NASBench201API            # pip install nas-bench-201
    api = NASBench201API("NAS-Bench-201-v1_1-096897.pth", verbose=False)
    # or: from nats_bench import create; api = create(path, "tss", fast_mode=True)
    from nar_utils.benchmarks.convert import convert_official
    convert_official(api, "my_data/nb201/nb201.csv.gz")

then point ``NAR_DATA_DIR`` at ``my_data``. The converter only calls the public query
methods shared by both APIs (``len``, ``arch``, ``get_more_info``, ``get_cost_info``), so it
works with either package and is tested against a small stand-in object. The table is checked
as the loader checks it (:func:`nar_utils.benchmarks.nb201.check_table`) before it is
written, so that a conversion never leaves a file the book refuses to read.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from tqdm import tqdm

from nar_utils.benchmarks.nb201 import (
    LATENCY_COLUMNS,
    SEED_COLUMNS,
    TABLE_COLUMNS,
    check_table,
)
from nar_utils.spaces.nb201 import space as nb201_space

#: Official metric keys read for each of this book's metric names.
_OFFICIAL_KEYS = {"train-time": "train-all-time"}


def _official_value(info: dict, cost: dict, metric: str) -> float:
    if metric == "params":
        return float(cost["params"])
    return float(info[_OFFICIAL_KEYS.get(metric, metric)])


def convert_official(api: Any, out_path: str | os.PathLike | None = None,
                     hps: Sequence[str] = ("200", "12"),
                     seeds: Sequence[int] | None = (777, 888, 999),
                     progress: bool = True) -> pd.DataFrame:
    """Query every architecture of an official API object and return (and optionally write,
    gzip-compressed CSV) the NB201 table.

    ``seeds`` are the training seeds whose individual 200-epoch validation accuracies are
    stored in ``*_val_200_seeds`` (the official API takes a seed as ``is_random``); seeds the
    API does not hold for an architecture are skipped, and ``seeds=None`` skips the columns.
    The inference latency of each dataset (``latency_*``, seconds) is kept where the API
    reports one (that of the first schedule in ``hps``).
    """
    n = len(api)
    if n != nb201_space.NUM_ARCHS:
        raise ValueError(f"the API holds {n} architectures; a NAS-Bench-201 topology space "
                         f"has {nb201_space.NUM_ARCHS}. Is this the size space ('sss')?")
    wanted = {k: c for k, c in TABLE_COLUMNS.items() if k[1] in hps}
    rows = []
    for index in tqdm(range(n), desc="converting", disable=not progress):
        arch_str = nb201_space.format_arch_str(nb201_space.parse_arch_str(api.arch(index)))
        row: dict[str, Any] = {"arch_index": index, "arch_str": arch_str,
                               "op_code": nb201_space.op_code_from_arch_str(arch_str)}
        cache: dict[tuple[str, str], tuple[dict, dict]] = {}
        for (dataset, hp, metric), column in wanted.items():
            if (dataset, hp) not in cache:
                cache[dataset, hp] = (api.get_more_info(index, dataset, hp=hp, is_random=False),
                                      api.get_cost_info(index, dataset, hp=hp))
            try:
                row[column] = _official_value(*cache[dataset, hp], metric)
            except KeyError:
                row.setdefault(column, np.nan)
        for dataset, column in LATENCY_COLUMNS.items():
            if (dataset, hps[0]) not in cache:
                continue
            latency = cache[dataset, hps[0]][1].get("latency")
            row[column] = float(latency) if latency is not None and latency > 0 else np.nan
        if seeds is not None:
            for dataset, column in SEED_COLUMNS.items():
                trials = []
                for seed in seeds:
                    try:
                        info = api.get_more_info(index, dataset, hp="200", is_random=seed)
                    except (KeyError, ValueError, AssertionError):
                        continue
                    trials.append(float(info["valid-accuracy"]))
                row[column] = json.dumps(trials)
        rows.append(row)
    frame = pd.DataFrame(rows)
    check_table(frame, out_path or "<converted table>")
    if out_path is not None:
        out_path = Path(out_path)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(out_path, index=False, compression="gzip")
    return frame
