"""Training networks on images: the benchmark's data and splits (:mod:`.images`), the
benchmark's training recipe and the trainer that records learning curves (:mod:`.recipe`,
:mod:`.trainer`). Loads on first use; torch is imported by the trainer only."""
from nar_utils._lazy import lazy

__getattr__, __dir__ = lazy(__name__, ("images", "recipe", "splits", "trainer"), {
    "ImageSplits": "splits", "load_images": "images", "proxy_images": "images",
    "HyperParams": "recipe", "hyperparams": "recipe",
    "TrainResult": "trainer", "train_network": "trainer",
})
