"""NAS-Bench-201's training recipe: the official hyper-parameter configs and their schedule.

Every NAS-Bench-201 network was trained with the same recipe, read from one of the
benchmark's ``hyper-opts`` configs: SGD with Nesterov momentum 0.9, learning rate 0.1,
weight decay 5e-4 on every parameter, cross-entropy loss ('Softmax'), batch 256, and a
cosine schedule to 0 over ``epochs`` epochs without warm-up. ``12E.config`` (hp='12') and
``200E.config`` (hp='200') differ only in ``epochs``; a 12-epoch run anneals to 0 within 12
epochs, so it is *not* the first 12 epochs of a 200-epoch run. The two are built in here
(:data:`HP_12`, :data:`HP_200`) so that nothing needs the data directory; a test checks them
against the shipped files.

The official config format is JSON, each key mapped to ``[type, value as text]``::

    {"scheduler": ["str", "cos"], "LR": ["float", "0.1"], "nesterov": ["bool", "1"], ...}

The schedule (:func:`lr_at`) is the official ``CosineAnnealingLR`` of AutoDL-Projects
(``lib/procedures/optimizers.py``). Its trainer calls ``scheduler.update(epoch, 0.0)`` at
each epoch start and ``scheduler.update(None, i / len(loader))`` before every iteration, but
its cosine branch reads the integer epoch only (the iteration fraction enters the warm-up
branch alone), so with warm-up 0 the rate is constant within an epoch:
``eta_min + (lr - eta_min) * (1 + cos(pi * epoch / epochs)) / 2`` for epoch ``0 .. epochs-1``,
and ``eta_min`` from epoch ``epochs`` on. ``lr_at(..., smooth=True)`` gives the per-iteration
cosine at ``epoch + fraction`` instead, for comparison; it is not the benchmark's.

Reference:
  X. Dong and Y. Yang, "NAS-Bench-201: Extending the Scope of Reproducible Neural
  Architecture Search", ICLR 2020 (section 2.3 and the released configs; the recipe here
  follows those configs).
"""
from __future__ import annotations

import dataclasses
import json
import math
import numbers
import os
import re
from dataclasses import dataclass
from pathlib import Path

#: Values the benchmark's recipe uses; anything else is a different recipe, refused.
SCHEDULERS = ("cos",)
OPTIMIZERS = ("SGD",)
CRITERIA = ("Softmax",)

#: Official config key -> (HyperParams field, official type name).
CONFIG_KEYS: dict[str, tuple[str, str]] = {
    "scheduler": ("scheduler", "str"),
    "eta_min": ("eta_min", "float"),
    "epochs": ("epochs", "int"),
    "warmup": ("warmup", "int"),
    "optim": ("optim", "str"),
    "LR": ("lr", "float"),
    "decay": ("weight_decay", "float"),
    "momentum": ("momentum", "float"),
    "nesterov": ("nesterov", "bool"),
    "criterion": ("criterion", "str"),
    "batch_size": ("batch_size", "int"),
}
#: Relative path of the official configs inside the data directory.
CONFIG_RELDIR = Path("nb201") / "official" / "hyper-opts"


@dataclass(frozen=True)
class HyperParams:
    """One training recipe, field for field an official ``hyper-opts`` config.

    ``lr`` is the config's ``LR`` and ``weight_decay`` its ``decay``; the other fields keep
    their config names.
    """

    scheduler: str  # 'cos': cosine annealing (the only schedule of the benchmark)
    eta_min: float  # final learning rate of the cosine
    epochs: int  # length of the schedule in epochs (the cosine reaches eta_min here)
    warmup: int  # warm-up epochs (0 in every benchmark config)
    optim: str  # 'SGD'
    lr: float  # initial learning rate ('LR')
    weight_decay: float  # L2 weight decay on every parameter ('decay')
    momentum: float
    nesterov: bool
    criterion: str  # 'Softmax': cross-entropy
    batch_size: int

    def __post_init__(self) -> None:
        for name, valid in (("scheduler", SCHEDULERS), ("optim", OPTIMIZERS),
                            ("criterion", CRITERIA)):
            if getattr(self, name) not in valid:
                raise ValueError(f"HyperParams.{name} = {getattr(self, name)!r} is not part of "
                                 f"the benchmark's recipe; valid: {', '.join(valid)}")
        for name in ("epochs", "batch_size"):
            _check_int(name, getattr(self, name), minimum=1)
        _check_int("warmup", self.warmup, minimum=0)
        if not isinstance(self.nesterov, bool):
            raise TypeError(f"HyperParams.nesterov must be a bool, got {self.nesterov!r}")
        for name in ("eta_min", "lr", "weight_decay", "momentum"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or value < 0:
                raise ValueError(f"HyperParams.{name} must be a finite number >= 0, got "
                                 f"{value!r}")
            object.__setattr__(self, name, float(value))
        if self.lr <= 0 or self.eta_min > self.lr:
            raise ValueError(f"HyperParams needs 0 <= eta_min <= lr and lr > 0, got lr "
                             f"{self.lr!r}, eta_min {self.eta_min!r}")
        if self.momentum >= 1 or (self.nesterov and self.momentum == 0):
            raise ValueError(f"HyperParams.momentum must be in [0, 1) and > 0 with Nesterov, "
                             f"got {self.momentum!r}")

    def to_dict(self) -> dict:
        """The fields as a plain dict (for records and checkpoints)."""
        return dataclasses.asdict(self)


def _check_int(name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"HyperParams.{name} must be an int >= {minimum}, got {value!r}")


#: The benchmark's 12-epoch recipe (``hyper-opts/12E.config``, hp='12').
HP_12 = HyperParams(scheduler="cos", eta_min=0.0, epochs=12, warmup=0, optim="SGD", lr=0.1,
                    weight_decay=0.0005, momentum=0.9, nesterov=True, criterion="Softmax",
                    batch_size=256)
#: The benchmark's 200-epoch recipe (``hyper-opts/200E.config``, hp='200').
HP_200 = dataclasses.replace(HP_12, epochs=200)
#: Built-in recipes by the benchmark's ``hp`` name.
BUILTIN: dict[str, HyperParams] = {"12": HP_12, "200": HP_200}


def _parse_value(path: Path, key: str, type_name: str, text) -> object:
    """One ``[type, text]`` value of an official config, strictly."""
    if not isinstance(text, str):
        raise ValueError(  # noqa: TRY004 - a malformed file is a bad value, not a bad argument
            f"{path}: key {key!r} has value {text!r}; the official format writes every value "
            f"as text, e.g. [\"{type_name}\", \"1\"]")
    try:
        if type_name == "str":
            return text
        if type_name == "int":
            return int(text)
        if type_name == "float":
            value = float(text)
            if not math.isfinite(value):
                raise ValueError("not finite")
            return value
        if type_name == "bool":  # the official reader takes bool(int(text)); only 0/1 occur
            if text.strip() not in ("0", "1"):
                raise ValueError("not 0 or 1")
            return text.strip() == "1"
    except ValueError as err:
        raise ValueError(f"{path}: key {key!r} has bad {type_name} value {text!r} "
                         f"({err})") from None
    raise AssertionError(type_name)  # CONFIG_KEYS holds only the four types above


def read_config(path: str | os.PathLike) -> HyperParams:
    """Read an official NAS-Bench-201 ``hyper-opts`` config (``12E.config``, ...), strictly.

    Every key of :data:`CONFIG_KEYS` must be present with its official type; an unknown or
    missing key, an unknown or wrong type name, an unreadable value, or a value outside the
    benchmark's recipe (e.g. another optimiser) raises ValueError naming the file and key.
    """
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not an official config (invalid JSON: {err})") from None
    if not isinstance(raw, dict):
        raise ValueError(  # noqa: TRY004 - a malformed file is a bad value, not a bad argument
            f"{path}: not an official config (expected a JSON object of key: [type, value])")
    values: dict[str, object] = {}
    for key, entry in raw.items():
        if key not in CONFIG_KEYS:
            raise ValueError(f"{path}: unknown key {key!r}; valid: {', '.join(CONFIG_KEYS)}")
        field_name, type_name = CONFIG_KEYS[key]
        if not (isinstance(entry, list) and len(entry) == 2):
            raise ValueError(f"{path}: key {key!r} must be [type, value], got {entry!r}")
        given_type, text = entry
        if given_type not in ("str", "int", "float", "bool"):
            raise ValueError(f"{path}: key {key!r} has unknown type {given_type!r}; valid: "
                             "str, int, float, bool")
        if given_type != type_name:
            raise ValueError(f"{path}: key {key!r} must have type {type_name!r}, got "
                             f"{given_type!r}")
        values[field_name] = _parse_value(path, key, type_name, text)
    missing = [key for key, (field_name, _) in CONFIG_KEYS.items() if field_name not in values]
    if missing:
        raise ValueError(f"{path}: missing key(s) {', '.join(map(repr, missing))}")
    try:
        return HyperParams(**values)
    except ValueError as err:
        # Name the config keys, not only the fields: the reader of the file knows the keys.
        keys = [key for key, (name, _) in CONFIG_KEYS.items()
                if re.search(rf"\b{name}\b", str(err))]
        where = f"key {', '.join(map(repr, keys))}: " if keys else ""
        raise ValueError(f"{path}: {where}{err}") from None


def hyperparams(hp: HyperParams | str | os.PathLike = "12") -> HyperParams:
    """The recipe ``hp`` names: ``'12'`` or ``'200'`` (built in, equal to the benchmark's
    ``12E`` / ``200E`` configs), the path of an official config file, or a
    :class:`HyperParams` (returned as is)."""
    if isinstance(hp, HyperParams):
        return hp
    if isinstance(hp, int) and not isinstance(hp, bool) and str(hp) in BUILTIN:
        return BUILTIN[str(hp)]
    if isinstance(hp, str) and hp in BUILTIN:
        return BUILTIN[hp]
    if isinstance(hp, os.PathLike) or (isinstance(hp, str) and (
            "/" in hp or os.sep in hp or hp.endswith(".config") or Path(hp).is_file())):
        path = Path(hp)
        if not path.is_file():
            raise FileNotFoundError(f"hp config {str(path)!r} is not a file; give '12', '200' "
                                    "or the path of an official hyper-opts config")
        return read_config(path)
    raise ValueError(f"unknown hp {hp!r}; valid: {', '.join(map(repr, BUILTIN))}, the path of "
                     "an official hyper-opts config, or a HyperParams")


def lr_at(hp: HyperParams, epoch: int, fraction: float = 0.0, *, smooth: bool = False
          ) -> float:
    """Learning rate of the benchmark's schedule at iteration ``fraction`` (0 <= fraction < 1)
    of epoch ``epoch`` (0-based; ``epoch = hp.epochs`` is the end of the schedule).

    As the official ``CosineAnnealingLR`` (module docstring): ``eta_min + (lr - eta_min) *
    (1 + cos(pi * epoch / hp.epochs)) / 2``, the same for every ``fraction`` of an epoch, and
    ``eta_min`` at ``epoch = hp.epochs``. ``smooth=True`` evaluates the cosine at ``epoch +
    fraction`` instead (a per-iteration cosine; not the benchmark's). Only warm-up 0 is
    supported: every benchmark config has it, and a warm-up is not part of its recipe.
    """
    if hp.warmup != 0:
        raise ValueError(f"warm-up {hp.warmup} is not part of the benchmark's recipe (its "
                         "configs all have warmup 0); set warmup=0")
    if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral) \
            or not 0 <= epoch <= hp.epochs:
        raise ValueError(f"epoch must be an int in 0..{hp.epochs} (hp.epochs), got {epoch!r}")
    epoch = int(epoch)
    fraction = float(fraction)
    if not 0.0 <= fraction < 1.0 or (epoch == hp.epochs and fraction > 0):
        raise ValueError(f"fraction must be in [0, 1) (and 0 at the end of the schedule), got "
                         f"{fraction!r} at epoch {epoch}")
    t = epoch + fraction if smooth else epoch
    if t >= hp.epochs:
        return hp.eta_min
    return hp.eta_min + (hp.lr - hp.eta_min) * (1 + math.cos(math.pi * t / hp.epochs)) / 2


__all__ = [
    "BUILTIN",
    "CONFIG_KEYS",
    "CONFIG_RELDIR",
    "HP_12",
    "HP_200",
    "HyperParams",
    "hyperparams",
    "lr_at",
    "read_config",
]
