"""The README's examples run, so the docs cannot rot (as Nashpy runs its README in tox)."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_python_examples_run_as_a_script_with_worker_processes(tmp_path):
    """Saved as a script and run with jobs=2 (three chunks: two workers), as a user would."""
    code = "\n".join(blocks("python")).replace("runs=200", "runs=24")
    script = tmp_path / "example.py"
    script.write_text(code)
    r = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr


def test_quick_start_is_two_commands_and_ci_runs_the_second():
    quick = README.split("## Quick start", 1)[1]
    block = re.search(r"```\w*\n(.*?)```", quick, flags=re.S).group(1)
    commands = [ln.split("#")[0].strip() for ln in block.splitlines()
                if ln.split("#")[0].strip()]
    assert commands == ["make run", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) \
            else v
    return out


def test_scenario_snippet_is_valid_on_top_of_the_duel():
    import tomllib

    from sim.scenario import scenario_from_dict

    snippet = tomllib.loads(next(b for b in blocks("toml") if "[factions.west]" in b))
    duel = tomllib.loads((ROOT / "scenarios" / "symmetric_duel.toml").read_text())
    scn = scenario_from_dict(_merge(duel, snippet))  # unknown or mistyped fields would raise
    assert scn.backers["west_patron"].red_lines == ("west_capital",)
    assert scn.events[0].initiative.duration_weeks == 1


def test_cli_examples_name_real_commands_and_options():
    from typer.testing import CliRunner

    from sim.cli import app

    runner = CliRunner()
    for block in blocks("sh")[1:]:
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("#")[0].strip()
            if not line.startswith("negsim "):
                continue
            for part in line.split("&&"):
                args = part.split()[1:]
                # --help after the command proves the command and its options parse
                res = runner.invoke(app, [args[0], "--help"])
                assert res.exit_code == 0, part
                for opt in [a for a in args if a.startswith("--")]:
                    assert opt in res.output, (opt, part)
