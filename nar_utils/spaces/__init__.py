"""Search spaces: what a cell *is*. One package per space with the same module names
(``space``, ``network``, ``cellinfo``, ``encoding``), each behind a :class:`SearchSpace`
object that :func:`get_space` returns. Spaces import no benchmark data."""
from nar_utils._lazy import lazy
from nar_utils.spaces.base import SPACES, SearchSpace, get_space

__getattr__, __dir__ = lazy(__name__, ("base", "nb101", "nb201"), {
    "SPACES": "base", "SearchSpace": "base", "get_space": "base"})

__all__ = ["SPACES", "SearchSpace", "get_space"]
