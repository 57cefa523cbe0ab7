"""The scenario scripts in experiments/: each runs, small, and says what it promises."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "experiments" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_counterfactual_is_a_valid_override_of_the_scenario():
    cf = _script("libya_counterfactuals")
    for overrides in cf.VARIANTS.values():
        load_scenario(cf.SCENARIO, overrides)


def test_the_counterfactuals_script_compares_each_variant_with_the_baseline(tmp_path, capsys):
    cf = _script("libya_counterfactuals")
    out = tmp_path / "cf.png"
    assert cf.main(["--runs", "3", "--steps", "10", "--jobs", "1", "--quiet", "--only",
                    "no Wagner", "--only", "no Turkish intervention", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "3 runs a variant" in text
    for label in ("baseline", "no Wagner", "Turkish", "LNA wins", "durable"):
        assert label in text
    assert "Egyptian" not in text  # not asked for
    assert out.stat().st_size > 10_000


def test_the_counterfactuals_script_refuses_an_unknown_variant(capsys):
    cf = _script("libya_counterfactuals")
    with pytest.raises(SystemExit) as got:
        cf.main(["--only", "no France"])
    assert got.value.code == 2
    assert "invalid choice: 'no France'" in capsys.readouterr().err
