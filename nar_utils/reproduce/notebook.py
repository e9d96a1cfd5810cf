"""What every chapter sets up after its imports, so that executing it twice gives the same
outputs (the reference tests in ``tests/reference/`` re-execute each chapter and compare).

Two displays would otherwise differ from run to run, or say too little:

* pandas gives each styled table a random id (``T_3f2a1``), written into every cell of its
  HTML; here styled tables are numbered in the order the notebook shows them instead
  (``T_nar1``, ``T_nar2``, ...), unique within a page as before.
* a figure's PNG is not a fair thing to compare (fonts, antialiasing); each figure also
  carries the numbers it plots as text (:mod:`nar_utils.reproduce.figure_data`).
"""
from __future__ import annotations

import itertools

TABLE_ID_PREFIX = "nar"


def setup(shell=None) -> None:
    """Install both displays in the running IPython (a notebook's kernel); calling it again
    restarts the table numbering. Does nothing outside IPython. (Returns None, so that the
    call can end a cell without an output.)"""
    from nar_utils.reproduce import figure_data

    shell = figure_data.running_shell(shell)
    if shell is None:
        return
    from pandas.io.formats.style import Styler

    counter = itertools.count(1)

    def styled_table_html(styler: Styler) -> str:
        styler.set_uuid(f"{TABLE_ID_PREFIX}{next(counter)}")
        return styler._repr_html_()

    shell.display_formatter.formatters["text/html"].for_type(Styler, styled_table_html)
    figure_data.register(shell)
