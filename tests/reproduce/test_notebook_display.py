"""What every chapter sets up: figures carry the numbers they plot, styled tables get ids that
repeat from run to run."""
from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

from nar_utils.reproduce import figure_data, notebook

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture
def shell():
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.testing.globalipapp import start_ipython

    start_ipython()  # the test shell, once per process
    ip = InteractiveShell.instance()
    ip.display_formatter.formatters["text/html"].enabled = True  # a terminal shows text only
    notebook.setup(ip)
    yield ip
    plt.close("all")


def test_a_figure_shown_in_ipython_carries_its_numbers(shell):
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3], [0.5, 0.25, 0.125], label="loss")
    data, _ = shell.display_formatter.format(fig)
    assert data[figure_data.MIME] == figure_data.describe(fig)
    assert "line 'loss' y [0.5, 0.25, 0.125]" in data[figure_data.MIME]


def test_the_figure_data_survives_the_inline_backend_setting_itself_up(shell):
    """matplotlib's inline back end clears per-type figure printers when it loads."""
    from matplotlib_inline.backend_inline import configure_inline_support

    configure_inline_support(shell, "inline")
    fig, ax = plt.subplots()
    ax.bar([0, 1], [3, 4])
    data, _ = shell.display_formatter.format(fig)
    assert "bars height [3, 4]" in data[figure_data.MIME]


def test_describe_lists_what_each_kind_of_artist_plots():
    fig, (a, b) = plt.subplots(1, 2)
    fig.suptitle("two panels")
    a.scatter(np.arange(20), np.arange(20) * 2.0, c=np.arange(20))
    a.set(title="scatter", xlabel="MFLOPs", ylabel="seconds per epoch")
    a.annotate("best", (1, 2))
    b.imshow(np.array([[1, 2], [3, 4]]))
    b.fill_between([0, 1], [0, 0], [1, 2])
    b.errorbar([0, 1], [1, 2], yerr=[0.1, 0.2])
    text = figure_data.describe(fig)
    assert text.startswith("suptitle: two panels\naxes 0:\n  title: scatter\n")
    # 20 points are summarised; measured seconds carry their unit
    assert "PathCollection points x n=20 min=0 mean=9.5 sd=5.76628 max=19" in text
    assert "PathCollection points y n=20 min=0 s mean=19 s sd=11.5326 s max=38 s" in text
    assert "colour values n=20" in text and "texts best" in text
    assert "image 2x2 [1, 2, 3, 4]" in text
    assert "PolyCollection vertices" in text and "LineCollection points" in text


def test_describe_sees_a_changed_value_and_not_the_last_bits():
    def text(y):
        fig, ax = plt.subplots()
        ax.plot(np.arange(50), y)
        return figure_data.describe(fig)

    y = np.linspace(0, 1, 50)
    assert text(y) == text(y * (1 + 1e-12))
    changed = y.copy()
    changed[17] += 1e-3
    assert text(y) != text(changed)


def test_series_lists_short_ones_and_counts_what_is_not_finite():
    assert figure_data.series([1.0, 2.5, -0.0]) == "[1, 2.5, 0]"
    long = figure_data.series([np.nan] + list(range(20)))
    assert long.startswith("n=21 (1 not finite) min=0 mean=9.5")
    # a constant series has no spread, whatever the summation order leaves of it
    assert figure_data.series([93.47] * 62).endswith("sd=0 max=93.47")


def test_styled_tables_are_numbered_in_display_order(shell):
    df = pd.DataFrame({"a": [1.0, 2.0]})
    first, _ = shell.display_formatter.format(df.style)
    second, _ = shell.display_formatter.format(df.style)
    assert 'id="T_nar1"' in first["text/html"] and 'id="T_nar2"' in second["text/html"]
    notebook.setup(shell)  # a chapter executed again numbers from 1 again
    again, _ = shell.display_formatter.format(df.style)
    assert again["text/html"] == first["text/html"]


def test_setup_outside_ipython_does_nothing():
    import subprocess
    import sys

    code = ("from nar_utils.reproduce import figure_data, notebook; "
            "assert notebook.setup() is None; assert figure_data.register() is False")
    subprocess.run([sys.executable, "-c", code], check=True)
