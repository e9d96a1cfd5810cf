"""Seeds and devices: what every notebook and trainer sets up first."""
from __future__ import annotations

import contextlib
import os
import platform
import random

import numpy as np


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python, NumPy and torch (if installed) and return a fresh NumPy generator.

    Code in this package takes explicit generators; this guards third-party code that
    draws from the global states.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        import torch
    except ImportError:
        pass
    else:
        torch.manual_seed(seed)
    return np.random.default_rng(seed)


@contextlib.contextmanager
def seeded_torch(seed: int, device: str = "cpu"):
    """Inside: torch's global RNG (the CPU's and, on ``cuda[:N]``, that GPU's) seeded with
    ``seed``; outside: the states as they were. Predictors build and initialise their
    networks in here, so that one predictor's seed neither depends on nor moves anyone
    else's draws."""
    import torch

    devices = [torch.device(device).index or 0] if device.startswith("cuda") else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def try_device(device: str = "auto") -> str:
    """Resolve a device request: 'auto' -> 'cuda' when available else 'cpu'; 'cpu'; 'cuda'
    or 'cuda:N' (error if no GPU is visible)."""
    if device == "auto":
        try:
            import torch
            return "cuda" if torch.cuda.is_available() else "cpu"
        except ImportError:
            return "cpu"
    if device == "cpu":
        return "cpu"
    if isinstance(device, str) and (device == "cuda" or device.startswith("cuda:")):
        import torch
        if not torch.cuda.is_available():
            raise RuntimeError(f"device {device!r} requested but no CUDA GPU is visible; use "
                               "device='cpu' or 'auto'")
        return device
    raise ValueError(f"unknown device {device!r}; valid: 'auto', 'cpu', 'cuda', 'cuda:N'")


def device_description(device: str = "cpu") -> str:
    """Human-readable name of the hardware a run used."""
    if device.startswith("cuda"):
        import torch
        return f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda})"
    cpu = platform.processor() or platform.machine()
    return f"CPU {cpu}, {os.cpu_count()} logical cores"


