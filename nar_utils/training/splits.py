"""What a trainer reads: one dataset's images, split as the benchmark splits them.

:class:`ImageSplits` is the contract between the image readers (:mod:`.images`) and the
trainer (:mod:`.trainer`): uint8 images in NHWC layout with int64 labels, the normalisation
and augmentation the benchmark applies to them, and where they came from. A proxy (images
that are not the benchmark's, used where those cannot be had) says so in ``is_proxy`` and
in its ``name``, and every record made from it carries both.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ImageSplits:
    """One dataset's images: ``train``, ``valid`` and ``test`` as ``(images, labels)``.

    ``images`` is uint8 ``(N, H, W, 3)``, ``labels`` int64 ``(N,)`` in ``0..num_classes-1``.
    ``valid`` or ``test`` is None where the benchmark's dataset has no such split ('cifar10'
    has no validation split). ``mean`` / ``std`` are per channel on the 0..1 scale;
    ``crop_padding`` is the zero padding of the random crop (the crop keeps the image size),
    and every training image is also flipped horizontally with probability 1/2.
    """

    name: str  # the official dataset name, or 'proxy-...' for a proxy
    train: tuple[np.ndarray, np.ndarray]
    valid: tuple[np.ndarray, np.ndarray] | None
    test: tuple[np.ndarray, np.ndarray] | None
    num_classes: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    crop_padding: int
    is_proxy: bool = False
    source: str = ""  # where the images were read from, in words (files, package)
    notes: dict = field(default_factory=dict)

    @property
    def image_size(self) -> int:
        return int(self.train[0].shape[1])

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray] | None:
        """``'train'``, ``'valid'`` or ``'test'``."""
        if name not in ("train", "valid", "test"):
            raise ValueError(f"unknown split {name!r}; valid: train, valid, test")
        return getattr(self, name)

    def sizes(self) -> dict[str, int]:
        return {name: (0 if part is None else len(part[1]))
                for name, part in (("train", self.train), ("valid", self.valid),
                                   ("test", self.test))}
