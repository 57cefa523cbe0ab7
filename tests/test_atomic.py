"""Results are written whole or not at all (`sim.folder.atomic_write`)."""

import pytest

from sim.folder import atomic_text, atomic_write


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "posterior.csv"
    atomic_text("old\n", path)

    def half_then_fail(tmp):
        tmp.write_text("half a ")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, half_then_fail)
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["posterior.csv"]
    atomic_write(path, lambda tmp: tmp.write_text("new\n"))
    assert path.read_text() == "new\n" and len(list(tmp_path.iterdir())) == 1
