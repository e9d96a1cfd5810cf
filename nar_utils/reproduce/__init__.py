"""Book machinery, imported by the notebooks only: run records (:mod:`.records`), the
notebook runner (:mod:`.runner`), parameter sweeps (:mod:`.grid`), training one architecture
from the command line (:mod:`.train_one`), regenerating NAS-Bench-201 (:mod:`.regenerate`),
every published figure the book sets beside its own (:mod:`.anchors`), the chapters'
display set-up (:mod:`.notebook`, :mod:`.figure_data`) and their reference executions
(:mod:`.reference`)."""
from nar_utils._lazy import lazy

__getattr__, __dir__ = lazy(__name__, ("anchors", "figure_data", "grid", "notebook", "records",
                                        "reference", "regenerate", "runner", "train_one"))
