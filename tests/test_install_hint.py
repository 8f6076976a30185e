"""The hint for a missing extra names something that installs (issue 34): `pip install
"fer-edge[analysis]"` named a package nothing publishes."""

from __future__ import annotations

import subprocess
import sys

from edge_fixtures import REPO, run_python

from cli_checks import assert_one_error

WITHOUT_PANDAS = """
import sys
sys.modules["pandas"] = None  # what `import pandas` does where the analysis extra is not installed
from fer_edge.cli import main
sys.argv = ["fer-edge", "report", sys.argv[1] if len(sys.argv) > 1 else "x.csv", "-o", "r.png"]
main()
"""


def test_from_a_checkout_the_hint_is_the_checkout_with_the_extra(tmp_path):
    results = tmp_path / "faces.csv"
    results.write_text("frame,time,image,track,x,y,w,h,label,score,detection,happy\n")
    proc = run_python(WITHOUT_PANDAS.replace("x.csv", str(results)))
    line = assert_one_error(proc.returncode, proc.stderr, proc.stdout)
    assert "needs pandas" in line and f'install -e "{REPO}[analysis]"' in line, line  # this venv's editable install


def test_from_an_index_the_hint_is_the_extras_own_packages(tmp_path):
    """An install without a checkout (a wheel from an index): its metadata's requirements for the extra."""
    info = tmp_path / "fer_edge-9.9.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fer-edge\nVersion: 9.9\n"
                                   "Requires-Dist: numpy\n"
                                   'Requires-Dist: pandas>=1.5; extra == "analysis"\n'
                                   'Requires-Dist: matplotlib>=3.6; extra == "analysis"\n'
                                   'Requires-Dist: keras>=3.8; extra == "train"\n')
    code = "from fer_edge.install_hint import extra_hint; print(extra_hint('analysis'))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(tmp_path), "PATH": ""})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f'{sys.executable} -m pip install "pandas>=1.5" "matplotlib>=3.6"'
