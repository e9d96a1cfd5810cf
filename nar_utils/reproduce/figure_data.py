"""The numbers behind a figure, as text that travels with it in the executed notebook.

A figure's pixels change with the fonts, the matplotlib version and the antialiasing of
the machine that drew it, so the reference tests (``tests/reference/``, checked with nbval)
compare what a figure *plots* instead: once :func:`register` has run in a notebook, every
matplotlib figure it shows carries, beside its PNG, a plain-text output of MIME type
:data:`MIME` listing each axes' title and labels and the data of its lines, markers, bars,
images and text annotations (:func:`describe`). Front ends show the PNG and ignore the extra
output; the reference tests compare it like any other text.

Short series are listed value by value; longer ones by count, minimum, mean, standard
deviation and maximum. Values are printed to six significant digits, enough for any change
in a plotted number to show while the last bits of a float stay out of it.

Written here rather than taken from a library: the comparison tools of the field (nbval,
pytest-mpl) compare images or skip them, and none reads a figure's artists back as numbers.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

#: The MIME type of the figure data output (plain text, so that nbval compares it).
MIME = "text/x-nar-figure-data"
#: Series up to this length are listed value by value.
LIST_UP_TO = 12


def _num(value: float) -> str:
    value = float(value)
    if not np.isfinite(value):
        return str(value)
    text = f"{value:.6g}"
    return "0" if text == "-0" else text


def series(values: Iterable[float], unit: str = "") -> str:
    """One series: every value when short, else ``n=.. min=.. mean=.. sd=.. max=..``
    (non-finite values counted apart); masked entries are left out. ``unit`` follows each
    number (``' s'`` marks measured seconds, which the reference tests mask)."""
    array = np.ma.asarray(values, dtype=float)
    array = np.asarray(array.compressed() if np.ma.isMaskedArray(array) else array).ravel()
    if array.size <= LIST_UP_TO:
        return "[" + ", ".join(_num(v) + unit for v in array) + "]"
    finite = array[np.isfinite(array)]
    text = f"n={array.size}"
    if finite.size < array.size:
        text += f" ({array.size - finite.size} not finite)"
    if finite.size:
        mean, sd = finite.mean(), finite.std()
        if sd <= 1e-9 * max(abs(mean), 1e-300):  # a constant series: rounding error only
            sd = 0.0
        text += "".join(f" {name}={_num(value)}{unit}" for name, value in
                        (("min", finite.min()), ("mean", mean), ("sd", sd),
                         ("max", finite.max())))
    return text


def _columns(name: str, array: np.ndarray, units: tuple[str, str] = ("", "")) -> list[str]:
    array = np.asarray(array, dtype=float)
    if array.ndim == 2 and array.shape[1] == 2:
        return [f"{name} x {series(array[:, 0], units[0])}",
                f"{name} y {series(array[:, 1], units[1])}"]
    return [f"{name} {series(array)}"]


def axis_unit(label: str) -> str:
    """``' s'`` for an axis of measured seconds (its label names seconds, e.g. 'seconds per
    epoch (cpu)'), else ''."""
    return " s" if "second" in label.lower() else ""


def _axes_lines(ax) -> list[str]:
    from matplotlib.collections import LineCollection, PolyCollection, QuadMesh
    from matplotlib.patches import Rectangle

    out = []
    units = (axis_unit(ax.get_xlabel()), axis_unit(ax.get_ylabel()))
    for key, text in (("title", ax.get_title()), ("x", ax.get_xlabel()),
                      ("y", ax.get_ylabel())):
        if text:
            out.append(f"  {key}: {text}")
    for line in ax.get_lines():
        label = line.get_label()
        name = "line" if label.startswith("_") else f"line {label!r}"
        x, y = line.get_xdata(orig=True), line.get_ydata(orig=True)
        if np.asarray(x).dtype.kind in "fiub" and np.asarray(y).dtype.kind in "fiub":
            out += [f"  {name} x {series(x, units[0])}", f"  {name} y {series(y, units[1])}"]
        else:
            out.append(f"  {name} x {list(map(str, np.ravel(x)))} y {series(y, units[1])}")
    for collection in ax.collections:
        label = collection.get_label()
        name = type(collection).__name__ + ("" if label.startswith("_") else f" {label!r}")
        if isinstance(collection, QuadMesh):
            out.append(f"  {name} values {series(collection.get_array())}")
        elif isinstance(collection, LineCollection):
            segments = collection.get_segments()
            points = np.concatenate(segments) if segments else np.empty((0, 2))
            out += [f"  {s}" for s in _columns(f"{name} points", points, units)]
        elif isinstance(collection, PolyCollection):
            paths = collection.get_paths()
            points = np.concatenate([p.vertices for p in paths]) if paths else np.empty((0, 2))
            out += [f"  {s}" for s in _columns(f"{name} vertices", points, units)]
        else:
            offsets = np.asarray(collection.get_offsets(), dtype=float)
            out += [f"  {s}" for s in _columns(f"{name} points", offsets, units)]
            values = collection.get_array()
            if values is not None:
                out.append(f"  {name} colour values {series(values)}")
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    if bars:
        out.append(f"  bars x {series([p.get_x() for p in bars], units[0])}")
        out.append(f"  bars width {series([p.get_width() for p in bars], units[0])}")
        out.append(f"  bars height {series([p.get_height() for p in bars], units[1])}")
    for image in ax.get_images():
        array = np.asarray(image.get_array())
        out.append(f"  image {'x'.join(map(str, array.shape))} {series(array)}")
    texts = [t.get_text() for t in ax.texts if t.get_text()]
    if texts:
        out.append(f"  texts {series_of_strings(texts)}")
    return out


def series_of_strings(texts: list[str]) -> str:
    """Annotations as written, all of them when few, else the first and last few."""
    if len(texts) <= 2 * LIST_UP_TO:
        return " | ".join(texts)
    return " | ".join(texts[:LIST_UP_TO]) + f" | ... ({len(texts)} in all) | " + \
        " | ".join(texts[-3:])


def describe(fig) -> str:
    """The numbers a matplotlib figure plots, one axes after another (colour bars and
    other axes without data included, so that a changed layout shows too)."""
    lines = []
    if fig.get_suptitle():
        lines.append(f"suptitle: {fig.get_suptitle()}")
    for k, ax in enumerate(fig.get_axes()):
        lines.append(f"axes {k}:")
        lines += _axes_lines(ax)
    return "\n".join(lines) + "\n"


def running_shell(shell=None):
    """``shell``, else the running IPython shell, else None (plain Python)."""
    if shell is not None:
        return shell
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def register(shell=None) -> bool:
    """Make every figure the running IPython shows carry :func:`describe`'s text as an
    extra output of type :data:`MIME`. Returns False outside IPython (nothing to do).

    The formatter recognises figures itself rather than through IPython's per-type
    registry: matplotlib's inline back end clears every figure entry of that registry when
    it loads (on the first figure, and again at ``%matplotlib inline``)."""
    shell = running_shell(shell)
    if shell is None:
        return False
    from IPython.core.formatters import BaseFormatter, catch_format_error
    from matplotlib.figure import Figure
    from traitlets import ObjectName, Unicode

    class FigureDataFormatter(BaseFormatter):
        format_type = Unicode(MIME)
        print_method = ObjectName("_repr_nar_figure_data_")

        @catch_format_error
        def __call__(self, obj):
            return describe(obj) if self.enabled and isinstance(obj, Figure) else None

    shell.display_formatter.formatters[MIME] = FigureDataFormatter(
        parent=shell.display_formatter)
    return True
