"""MaxAcc of Siamese-NAS, BRP-NAS and GBDT-guided search under the N/K protocol, and the
seconds of one estimation code.

Usage: python perf/bench_nk.py [--data-dir DIR] [--dataset cifar100] [--repeats 20]
                               [--totals 100 150 200] [--k 30] [--methods ...]
                               [--siamese-epochs 200] [--code-cells 8] [--record out.json]

For each label kind (one seed per cell, mean over seeds) and each total N + K of
``--totals`` (K = ``--k``), runs every method ``--repeats`` times (seeds 0..) through
:func:`nar_utils.search.nk.run_nk` on the NB201 table's 200-epoch test accuracy and prints
the mean and spread of MaxAcc (the best label bought), of the chosen cell's mean test
accuracy, of rho, and the seconds per run. Siamese-NAS reads the table variant of the
estimation code (12-epoch CIFAR-10 accuracy, charged at its training time). Then it times
``--code-cells`` trained estimation codes (the authors' recipe on the configured images, else
the embedded proxy) on this machine. Needs the NB201 table (``--data-dir`` or
``$NAR_DATA_DIR``).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from nar_utils.benchmarks import load_benchmark
from nar_utils.predictors.siamese import TableCodes, estimation_code
from nar_utils.reproduce import records
from nar_utils.search import nk
from nar_utils.training import images as image_data

METHODS = {
    "siamese+NSAM+BTS": ("siamese", {"nsam": True, "bts": True}),
    "brp-nas": ("brp", {}),
    "gbdt": ("gbdt", {}),
    "random": ("random", {}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--dataset", default="cifar100")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--totals", type=int, nargs="+", default=[100, 150, 200])
    parser.add_argument("--k", type=int, default=30)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--siamese-epochs", type=int, default=200)
    parser.add_argument("--brp-epochs", type=int, default=250)
    parser.add_argument("--labels", nargs="+", default=["single", "mean"],
                        choices=nk.SEED_CHOICES)
    parser.add_argument("--code-cells", type=int, default=8)
    parser.add_argument("--record", default=None)
    args = parser.parse_args()
    bench = load_benchmark(args.data_dir)
    codes = TableCodes(bench)
    variants = {name: METHODS[name] for name in args.methods}
    variants = {name: (method, {**options,
                                **({"num_epochs": args.siamese_epochs} if method == "siamese"
                                   else {}),
                                **({"num_epochs": args.brp_epochs} if method == "brp" else {})})
                for name, (method, options) in variants.items()}
    ns = [total - args.k for total in args.totals]
    summaries = []
    for seeds in args.labels:
        labels = nk.cell_labels(bench, args.dataset, "test-accuracy", seeds, seed=0,
                                data_dir=args.data_dir)
        print(f"\n{labels.description}; best label in the space {labels.values.max():.2f}, "
              f"best mean {labels.reported.max():.2f}; K = {args.k}, {args.repeats} repeats")
        frame = nk.nk_curves(variants, labels, ns, (args.k,), args.repeats, codes=codes)
        table = nk.summarise(frame)
        summaries.append(table.assign(labels_kind=seeds))
        for _, row in table.iterrows():
            print(f"  {row['variant']:18} N+K {row['N+K']:4d}  MaxAcc {row['max_label']:6.2f} "
                  f"± {row['max_label_std']:4.2f}  chosen (mean test) {row['best_reported']:6.2f}"
                  f"  rho {row['rho']:5.3f}  {row['seconds']:6.1f} s/run", flush=True)
    images = image_data.load_images("cifar10-valid", args.data_dir, fallback="proxy")
    rng = np.random.default_rng(0)
    cells = bench.op_codes[rng.choice(len(bench.op_codes), args.code_cells, replace=False)]
    seconds = []
    for cell in cells:
        start = time.perf_counter()
        estimation_code(cell, images, seed=0)
        seconds.append(time.perf_counter() - start)
    print(f"\nestimation code (authors' recipe, C16 N5, {images.name}"
          f"{' proxy' if images.is_proxy else ''}): median {np.median(seconds):.2f} s, "
          f"range {min(seconds):.2f}-{max(seconds):.2f} s over {len(seconds)} cells")
    if args.record:
        record = {"script": "perf/bench_nk.py", "arguments": vars(args),
                  "summary": pd.concat(summaries).to_dict("records"),
                  "code_seconds": seconds, **records.provenance("cpu")}
        Path(args.record).write_text(json.dumps(records.to_jsonable(record), indent=1) + "\n")


if __name__ == "__main__":
    main()
