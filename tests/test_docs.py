"""The API reference builds from the docstrings without a warning (`make docs`)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_api_reference_builds_without_warnings(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "docs" / "build_api.py"), str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    top = (tmp_path / "sim.html").read_text()
    for name in ("run_replicates", "run_sweep", "load_scenario", "ResultsFolder"):
        assert name in top
    page = (tmp_path / "sim" / "experiment.html").read_text()
    # reST roles in the docstrings become links, not raw markup
    docstrings = "".join(re.findall(r'<div class="docstring">(.*?)</div>', page, re.S))
    assert docstrings and ":func:`" not in docstrings and ":class:`" not in docstrings
    assert re.search(r'<a href="[^"]*#run_experiment">run_experiment\(\)</a>', docstrings)
    assert "SeedSequence(seed).spawn(runs)" in page
