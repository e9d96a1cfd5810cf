"""The grid parser under fuzzing: any text and any YAML-like structure gives entries or a
:class:`~nar_utils.reproduce.grid.GridError`, never another exception and never a hang; a
valid grid plans into exactly the runs it describes, each in a directory of its own."""
import itertools
import json

import nbformat
import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from nbformat.v4 import new_code_cell, new_notebook

from nar_utils.reproduce import grid
from tests.fuzzing import no_hang

# Four parameters that take any value (a default of None) and one int, whose values are
# checked against its type.
PARAMETER_NAMES = ("a", "b", "c", "d")
PARAMETERS = "\n".join(f"{name} = None  # any value" for name in PARAMETER_NAMES) + \
    "\nn = 0  # an int"
FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def notebook_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    nb = new_notebook()
    params = new_code_cell(PARAMETERS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params]
    nbformat.write(nb, folder / "fuzz.ipynb")
    return folder


def _parses_or_refuses(parse):
    """``parse()`` returns grid entries or raises GridError, and nothing else happens."""
    with no_hang(what="the grid parser"):
        try:
            entries = parse()
        except grid.GridError as exc:
            assert str(exc) and exc.detail
            event(f"refused: {exc.detail[:24]}")
            return None
    event("parsed")
    assert isinstance(entries, list) and entries
    assert all(isinstance(entry, grid.GridEntry) for entry in entries)
    return entries


# Pieces of grid files and of YAML that trouble parsers: flow and block collections,
# anchors and aliases (also recursive ones), tags, merge keys, dates, special floats.
TOKENS = ["notebook", "fixed", "grid", "fuzz.ipynb", "missing.ipynb", "a", "n", "seed", ":",
          ": ", " ", "\n", "  ", "- ", "[", "]", "{", "}", ", ", "&x ", "*x", "<<: *x",
          "!!binary ", "!!set ", "!!float ", "!!int ", "!!timestamp ", "!!str ", "!!map ",
          "!!python/object:os.system ", "2024-13-01", "2024-01-31", "'", '"', "# c", "? ",
          "|", ">", "0", "-1", "1.5", "1e3", ".inf", ".nan", "null", "true", "~", "\t",
          "%YAML 1.1\n", "---\n", "...\n", "\\x00", "\x00", "\ufeff", "é"]
yamlish = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)


@FUZZ
@given(text=st.one_of(st.text(max_size=200), yamlish))
def test_any_text_gives_entries_or_a_grid_error(text, notebook_dir):
    _parses_or_refuses(lambda: grid.parse_grid_text(text, "fuzz.yaml", notebook_dir,
                                                    notebook_dir))


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                    st.text(max_size=8), st.dates(), st.binary(max_size=4),
                    st.frozensets(st.integers(), max_size=2))
keys = st.one_of(st.sampled_from(["notebook", "fixed", "grid", *PARAMETER_NAMES, "n", "x"]),
                 st.text(max_size=4), st.integers(), st.booleans(), st.none())
structures = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)), max_leaves=16)
parameter_names = st.sampled_from([*PARAMETER_NAMES, "n", "unknown"])
values = st.one_of(st.none(), st.integers(), st.text(max_size=4), structures)
entries = st.fixed_dictionaries({
    "notebook": st.one_of(st.just("fuzz.ipynb"), st.just("fuzz.ipynb"), st.just("missing"),
                          structures)}, optional={
    "fixed": st.one_of(st.dictionaries(parameter_names, values, max_size=3), structures),
    "grid": st.one_of(st.dictionaries(parameter_names, st.lists(values, max_size=3),
                                      max_size=3), structures),
})


@FUZZ
@given(data=st.one_of(entries, st.lists(entries, max_size=3), structures))
def test_any_structure_gives_entries_or_a_grid_error(data, notebook_dir):
    _parses_or_refuses(lambda: grid.parse_grid(data, notebook_dir, notebook_dir, "fuzz"))


# Values a grid may hold: plain literals, nested a little. Text leaves out surrogates (not
# UTF-8) and YAML 1.1's line breaks NEL, LS and PS, which PyYAML's emitter writes unquoted in
# keys under allow_unicode and its reader then takes for line breaks (a limit of the writer
# this test uses, not of the grid parser).
characters = st.characters(exclude_categories=("Cs",), exclude_characters="\x85\u2028\u2029")
plain = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(),
              st.text(characters, max_size=12)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(characters, max_size=5), inner,
                                            max_size=3)),
    max_leaves=6)


@st.composite
def valid_entries(draw):
    names = draw(st.permutations(PARAMETER_NAMES))
    cut = draw(st.integers(0, len(names)))
    fixed = {name: draw(plain) for name in names[:cut]}
    axes = {name: draw(st.lists(plain, min_size=1, max_size=3))
            for name in names[cut:] if draw(st.booleans())}
    if draw(st.booleans()):
        fixed["n"] = draw(st.integers(-5, 5))
    return {"notebook": "fuzz.ipynb", "fixed": fixed, "grid": axes}


def _canonical(value):
    return json.dumps(value, sort_keys=True)


@FUZZ
@given(spec=st.lists(valid_entries(), min_size=1, max_size=3), unicode=st.booleans())
def test_a_valid_grid_round_trips_into_its_runs(spec, unicode, notebook_dir):
    text = yaml.safe_dump(spec if len(spec) > 1 else spec[0], allow_unicode=unicode,
                          sort_keys=False)
    with no_hang(what="the grid parser"):
        parsed = grid.parse_grid_text(text, "fuzz.yaml", notebook_dir, notebook_dir)
        runs = grid.plan_runs(parsed, notebook_dir / "runs")
    expected = []
    for entry in spec:
        names = list(entry["grid"])
        for point in itertools.product(*(entry["grid"][name] for name in names)):
            overrides = _canonical({**entry["fixed"], **dict(zip(names, point))})
            if overrides not in expected:
                expected.append(overrides)
    assert [_canonical(run.overrides) for run in runs] == expected
    # Every distinct run has its own directory (plan_runs refuses two runs sharing one).
    assert len({run.run_dir for run in runs}) == len(runs)
    for run, entry in zip(runs, parsed):
        assert run.identity.parameters == run.overrides


@FUZZ
@given(values=st.lists(plain, min_size=2, max_size=6, unique_by=_canonical),
       fixed=st.dictionaries(st.sampled_from(PARAMETER_NAMES), plain, max_size=2))
def test_distinct_values_never_share_a_run_name(values, fixed):
    names = [grid.run_name({"tag": value}, fixed) for value in values]
    assert len(set(names)) == len(values)
    for name in names:
        assert "/" not in name and not name.startswith(".") and len(name) <= 150
        assert name.isascii() and name == grid.run_name({"tag": values[names.index(name)]},
                                                         fixed)
