"""The NAR authors' NAS-Bench-101 cell-information file as a benchmark table."""
from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from nar_utils.benchmarks.nb101 import (
    CELL_COLUMNS,
    NAR_JSON_RELPATH,
    NB101Benchmark,
    _missing,
    adjacency_string,
    ops_to_labels,
)
from nar_utils.spaces.nb101.cellinfo import pad_vertex_lists

# -- the NAR authors' cell-information file ------------------------------------------------
_NAR_REQUIRED = ("module_adjacency", "module_operations", "trainable_parameters",
                 "avg_validation_accuracy")
# NAR record key -> column of the table (all at 108 epochs).
_NAR_FIELDS = {"avg_validation_accuracy": "val_acc_108", "avg_test_accuracy": "test_acc_108",
               "avg_train_accuracy": "train_acc_108", "avg_training_time": "train_time_108"}


def _nar_records(path: Path) -> list[tuple[str, Mapping]]:
    with path.open("r", encoding="utf-8") as stream:
        content = json.load(stream)
    if isinstance(content, Mapping):
        content = [dict(record, unique_hash=record.get("unique_hash", key))
                   for key, record in content.items()]
    if not isinstance(content, list):
        # A malformed file is a bad value, not a caller's wrong type: ValueError.
        message = (f"{path}: expected a JSON list of records (or a dict keyed by hash), got "
                   f"{type(content).__name__}")
        raise ValueError(message)  # noqa: TRY004
    out = []
    for number, record in enumerate(content):
        missing = [k for k in _NAR_REQUIRED + ("unique_hash",) if k not in record]
        if missing:
            raise ValueError(f"{path}: record {number} lacks {missing}; the NAR authors' NB101 "
                             f"records hold {', '.join(_NAR_REQUIRED)}, unique_hash, ...")
        out.append((record["unique_hash"], record))
    return out


def _vertex_array(path: Path, records: list[tuple[str, Mapping]], key: str,
                  modules: tuple[str, ...]) -> np.ndarray | None:
    if not all(key in record for _, record in records):
        return None
    for module_hash, record in records:
        if tuple(record[key]) != modules:
            raise ValueError(f"{path}: hash {module_hash} lists {key} for modules "
                             f"{sorted(record[key])}, the first record for {list(modules)}")
    try:
        return pad_vertex_lists([record[key] for _, record in records], modules)
    except ValueError as err:
        raise ValueError(f"{path}, {key}: {err}") from None


def read_nar_nb101_json(path: str | os.PathLike) -> NB101Benchmark:
    """Read the NAR authors' NB101 cell-information file (source 'nar-json').

    Its accuracies and training time are averages over the official runs at 108 epochs;
    ``flops`` (whole network) becomes a column, the per-vertex FLOPs and parameters of every
    module are kept as arrays (:meth:`NB101Benchmark.vertex_costs`).
    """
    path = Path(path)
    if not path.is_file():
        raise _missing("the NAR authors' NB101 cell-information file", path,
                       f"Put their nasbench101_vertice.json at {NAR_JSON_RELPATH} in the data "
                       "directory.")
    start = time.perf_counter()
    records = _nar_records(path)
    if not records:
        raise ValueError(f"{path} holds no records")
    columns: dict[str, list] = {c: [] for c in CELL_COLUMNS}
    columns.update({c: [] for c in _NAR_FIELDS.values()})
    columns.update(params=[], flops=[])
    for module_hash, record in records:
        matrix = np.asarray(record["module_adjacency"])
        operations = record["module_operations"]
        if len(operations) != len(matrix):
            raise ValueError(f"{path}: hash {module_hash} has {len(operations)} operations for "
                             f"a {len(matrix)}-vertex adjacency matrix")
        columns["hash"].append(module_hash)
        columns["num_vertices"].append(len(matrix))
        columns["adjacency"].append(adjacency_string(matrix))
        columns["ops_labels"].append(ops_to_labels(operations))
        for key, column in _NAR_FIELDS.items():
            columns[column].append(float(record.get(key, float("nan"))))
        columns["params"].append(int(record["trainable_parameters"]))
        columns["flops"].append(float(record.get("flops", float("nan"))))
    frame = pd.DataFrame(columns)
    frame["params"] = frame["params"].astype(np.int64)
    if frame["flops"].notna().all():
        frame["flops"] = frame["flops"].astype(np.int64)
    frame = frame.dropna(axis=1, how="all")  # a metric the file lacks is absent, not NaN
    first = records[0][1]
    modules = tuple(first.get("vertex_flops") or first.get("vertex_params") or ())
    return NB101Benchmark(frame, "nar-json", str(path), modules=modules,
                          vertex_flops=_vertex_array(path, records, "vertex_flops", modules),
                          vertex_params=_vertex_array(path, records, "vertex_params", modules),
                          load_seconds=time.perf_counter() - start)


