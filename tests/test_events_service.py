"""`fer-edge service`: install into a temporary root (--prefix: files only, no systemd needed), the
unit checked by `systemd-analyze verify` (skipped where it cannot run), the run's options checked at
install time, the credentials kept out of the unit, status and uninstall."""

from __future__ import annotations

import shutil
import stat
import subprocess

import pytest
from click.testing import CliRunner

from fer_edge.cli import cli


def invoke(*args, env=None):
    result = CliRunner(env=env or {}).invoke(cli, ["service", *map(str, args)])
    assert "Traceback" not in result.output
    return result


def test_install_writes_a_unit_systemd_accepts_and_a_private_environment_file(tmp_path):
    env = {"FER_EDGE_MQTT_USERNAME": "kiosk", "FER_EDGE_MQTT_PASSWORD": 'p "w\\d'}
    r = invoke("install", "--prefix", tmp_path, "--camera", "picam", "--mqtt", "mqtt://hub.local/fer-edge",
               "--event-interval", "10", env=env)
    assert r.exit_code == 0, r.output
    unit = tmp_path / "etc/systemd/system/fer-edge.service"
    env_file = tmp_path / "etc/fer-edge/fer-edge.env"
    text = unit.read_text()
    for line in ("User=fer-edge", "SupplementaryGroups=video", "Restart=on-failure",
                 "EnvironmentFile=/etc/fer-edge/fer-edge.env", "WantedBy=multi-user.target"):
        assert line in text.splitlines()
    assert " run $FER_EDGE_RUN_ARGS" in text and "kiosk" not in text
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    lines = env_file.read_text().splitlines()
    assert "FER_EDGE_RUN_ARGS=--headless --camera picam --mqtt mqtt://hub.local/fer-edge --event-interval 10" in lines
    assert 'FER_EDGE_MQTT_USERNAME="kiosk"' in lines and 'FER_EDGE_MQTT_PASSWORD="p \\"w\\\\d"' in lines
    assert "on the device, then: useradd --system" in r.stderr

    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    verify = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    if "Failed to" in verify.stderr and "fer-edge.service" not in verify.stderr:
        pytest.skip(f"systemd-analyze cannot run here: {verify.stderr.strip()[:200]}")
    assert verify.returncode == 0 and verify.stderr == "", verify.stderr
    # and it does check: a wrong value in the same unit fails
    broken = tmp_path / "broken.service"
    broken.write_text(text.replace("Restart=on-failure", "Restart=sometimes"))
    verify = subprocess.run(["systemd-analyze", "verify", str(broken)], capture_output=True, text=True, timeout=60)
    assert "restart specifier" in verify.stderr

    r = invoke("status", "--prefix", tmp_path)
    assert r.exit_code == 0 and "fer-edge run --headless --camera picam" in r.stdout
    r = invoke("uninstall", "--prefix", tmp_path)
    assert r.exit_code == 0 and not unit.exists() and not env_file.exists()
    r = invoke("status", "--prefix", tmp_path)
    assert r.exit_code == 1 and r.stderr.startswith("error: fer-edge: not installed")


@pytest.mark.parametrize("args, message", [
    (["--camera", "picam", "--smooth", "2"], "Invalid value for '--smooth'"),
    (["--camera", "picam", "--no-such-option"], "No such option '--no-such-option'"),
    (["--mqtt", "mqtt://hub"], "give the run's --camera"),
    (["--camera", "picam", "--jsonl", "/var/lib/a b.jsonl"], "cannot hold spaces"),
    (["--camera", "picam", "--display"], "leave out --display"),
])
def test_bad_run_options_are_refused_before_anything_is_written(tmp_path, args, message):
    r = invoke("install", "--prefix", tmp_path, *args)
    assert r.exit_code == 1 and r.stderr.startswith("error: ") and message in r.stderr, r.output
    assert list(tmp_path.iterdir()) == []


def test_dry_run_prints_and_writes_nothing(tmp_path):
    r = invoke("install", "--prefix", tmp_path, "--dry-run", "--name", "kiosk", "--user", "pi", "--camera", "0")
    assert r.exit_code == 0 and "User=pi" in r.stdout and "FER_EDGE_RUN_ARGS=--headless --camera 0" in r.stdout
    assert list(tmp_path.iterdir()) == []
