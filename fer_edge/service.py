"""`fer-edge service install|status|uninstall`: `fer-edge run` as a systemd service that starts at
boot on a Raspberry Pi (or any systemd Linux): a unit and its environment file, a dedicated system
user in the camera's group `video`, restarted on failure.

install writes the two files; on the real system (no --prefix) it also creates the user and enables
the unit with systemctl, as root. --prefix DIR writes under DIR instead and runs nothing (packaging,
tests); --dry-run prints both files and writes nothing. The run's options are checked by `run`'s
own parser before anything is written; credentials go in the environment file (mode 0600, read by
systemd as root), never in the unit or on a command line.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click

from fer_edge.errors import FerEdgeError

UNIT_DIR, ENV_DIR, STATE_DIR = "etc/systemd/system", "etc/fer-edge", "/var/lib/fer-edge"
SECRETS = ("FER_EDGE_MQTT_USERNAME", "FER_EDGE_MQTT_PASSWORD", "FER_EDGE_WEBHOOK_TOKEN")
UNSAFE = set(" \t\n\"'\\$%;`")  # systemd splits $FER_EDGE_RUN_ARGS on whitespace; % and $ are its specifiers


def executable() -> str:
    """The absolute path of this installation's fer-edge script (the unit's ExecStart)."""
    beside = Path(sys.executable).parent / "fer-edge"
    found = str(beside) if beside.is_file() else shutil.which("fer-edge")
    if not found:
        raise FerEdgeError("cannot find the fer-edge command of this installation (is it installed with pip?)")
    return str(Path(found).absolute())


def check_run_args(args: tuple[str, ...]) -> list[str]:
    """`run`'s options, parsed by `run` itself (a typo fails now, not at boot), with --headless."""
    from fer_edge.edge.commands import run

    bad = [a for a in args if UNSAFE & set(a) or not a]
    if bad:
        raise FerEdgeError(f"service install: {bad[0]!r}: the service's options cannot hold spaces, quotes, $, % "
                           "or ;  (credentials belong in the environment file, not the options)")
    if any(a in ("--display",) for a in args):
        raise FerEdgeError("service install: a service has no screen: leave out --display")
    args = list(args) if "--headless" in args else ["--headless", *args]
    try:
        ctx = run.make_context("fer-edge run", list(args), resilient_parsing=False)
    except click.UsageError as exc:
        raise FerEdgeError(f"service install: {exc.format_message()}") from None
    if (ctx.params["camera"] is None) == (ctx.params["source"] is None):
        raise FerEdgeError("service install: give the run's --camera (picam or a number) or --source")
    return args


def unit_text(name: str, user: str, exe: str, env_file: str) -> str:
    return f"""[Unit]
Description={name}: facial-expression recognition (fer-edge run)
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
User={user}
SupplementaryGroups=video
EnvironmentFile={env_file}
Environment=PYTHONUNBUFFERED=1
ExecStart={f'"{exe}"' if " " in exe else exe} run $FER_EDGE_RUN_ARGS
WorkingDirectory={STATE_DIR}
StateDirectory=fer-edge
# SIGTERM ends a run as Ctrl-C does: outputs kept, the offline state sent
KillSignal=SIGTERM
TimeoutStopSec=20
Restart=on-failure
RestartSec=5
NoNewPrivileges=yes
ProtectSystem=full
ProtectHome=read-only
PrivateTmp=yes

[Install]
WantedBy=multi-user.target
"""


def env_text(args: list[str]) -> str:
    lines = ["# fer-edge service: the options of `fer-edge run`, on one line (then: systemctl restart THE-SERVICE)",
             f"FER_EDGE_RUN_ARGS={' '.join(args)}",
             "# credentials for --mqtt and --webhook: here, never on a command line"]
    for key in SECRETS:
        value = os.environ.get(key)
        if value and "\n" not in value:  # quoted: a password may hold spaces, quotes or backslashes
            escaped = value.replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f'{key}="{escaped}"')
        else:
            lines.append(f"#{key}=")
    return "\n".join(lines) + "\n"


def paths(prefix: str | None, name: str) -> tuple[Path, Path, str]:
    """(unit file, environment file as written, environment file as the unit names it)."""
    root = Path(prefix) if prefix else Path("/")
    return root / UNIT_DIR / f"{name}.service", root / ENV_DIR / f"{name}.env", f"/{ENV_DIR}/{name}.env"


def unreadable_by_others(exe: str) -> str | None:
    """The first folder above the executable that a user other than its owner cannot enter (a
    Raspberry Pi OS home folder is 0700), if any."""
    for folder in Path(exe).parents:
        if folder.exists() and not folder.stat().st_mode & 0o001:
            return str(folder)
    return None


def _name_option(f):
    return click.option("--name", default="fer-edge", show_default=True, metavar="NAME",
                        help="The service's name (NAME.service).")(f)


def _prefix_option(f):
    return click.option("--prefix", metavar="DIR",
                        help="Write under DIR instead of / and run nothing (packaging, a test).")(f)


def _systemctl(*args: str) -> None:
    proc = subprocess.run(["systemctl", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise FerEdgeError(f"systemctl {' '.join(args)}: {(proc.stderr or proc.stdout).strip().splitlines()[-1:]}")


def _need_root(what: str) -> None:
    if os.geteuid() != 0:
        raise FerEdgeError(f"service {what} changes the system: run it with sudo (or write files only with --prefix DIR)")


@click.group()
def service() -> None:
    """Run fer-edge at boot as a systemd service (a Raspberry Pi in a kiosk, a robot, a classroom).

    \b
    sudo fer-edge service install --camera picam --mqtt mqtt://hub.local/fer-edge
    fer-edge service status
    sudo fer-edge service uninstall
    """


@service.command(context_settings={"ignore_unknown_options": True})
@_name_option
@click.option("--user", default="fer-edge", show_default=True, metavar="USER",
              help="The system user the service runs as (created if missing, in the group video).")
@_prefix_option
@click.option("--dry-run", is_flag=True, help="Print the unit and the environment file; write nothing.")
@click.argument("run_args", nargs=-1, type=click.UNPROCESSED, metavar="[RUN OPTIONS]...")
def install(name, user, prefix, dry_run, run_args) -> None:
    """Write NAME.service and its environment file for `fer-edge run RUN OPTIONS`, create the user,
    enable and start it."""
    from fer_edge.edge.events.schema import DEVICE_PATTERN

    if not DEVICE_PATTERN.fullmatch(name) or not DEVICE_PATTERN.fullmatch(user):
        raise FerEdgeError("service install: --name and --user are 1-64 of A-Z a-z 0-9 _ -")
    args = check_run_args(run_args)
    exe = executable()
    unit_path, env_path, env_named = paths(prefix, name)
    unit, env = unit_text(name, user, exe, env_named), env_text(args)
    if dry_run:
        click.echo(f"# {unit_path}\n{unit}\n# {env_path}\n{env}", nl=False)
        return
    if prefix is None:
        _need_root("install")
    closed = unreadable_by_others(exe)
    if closed and user != "root":
        click.echo(f"warning: {closed} is closed to other users: the service's user {user} cannot start {exe}; "
                   f"install fer-edge under /opt (e.g. python3 -m venv /opt/fer-edge) or give --user", err=True)
    unit_path.parent.mkdir(parents=True, exist_ok=True)
    env_path.parent.mkdir(parents=True, exist_ok=True)
    unit_path.write_text(unit, encoding="utf-8")
    fd = os.open(env_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it may hold a password
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(env)
    os.chmod(env_path, 0o600)
    click.echo(f"wrote {unit_path} and {env_path}", err=True)
    steps = [["useradd", "--system", "--no-create-home", "--home-dir", STATE_DIR, "--shell", "/usr/sbin/nologin",
              "--groups", "video", user], ["systemctl", "daemon-reload"], ["systemctl", "enable", "--now", name]]
    if prefix is not None:
        click.echo("on the device, then: " + "; ".join(shlex.join(s) for s in steps), err=True)
        return
    import pwd

    try:
        pwd.getpwnam(user)
    except KeyError:
        subprocess.run(steps[0], check=True)
    _systemctl("daemon-reload")
    _systemctl("enable", "--now", name)
    click.echo(f"{name} started; it starts at every boot (fer-edge service status)", err=True)


@service.command()
@_name_option
@_prefix_option
def status(name, prefix) -> None:
    """Whether NAME is installed, and systemd's view of it."""
    unit_path, env_path, _ = paths(prefix, name)
    if not unit_path.is_file():
        raise FerEdgeError(f"{name}: not installed ({unit_path} does not exist)")
    click.echo(f"{unit_path}: installed")
    for line in env_path.read_text(encoding="utf-8").splitlines() if os.access(env_path, os.R_OK) else []:
        if line.startswith("FER_EDGE_RUN_ARGS="):
            click.echo(f"fer-edge run {line.partition('=')[2]}")
    if prefix is None and shutil.which("systemctl"):
        proc = subprocess.run(["systemctl", "status", "--no-pager", "--lines", "10", name], capture_output=True,
                              text=True)
        click.echo(proc.stdout.rstrip() or proc.stderr.rstrip())


@service.command()
@_name_option
@_prefix_option
def uninstall(name, prefix) -> None:
    """Stop and disable NAME and remove its files (the user and /var/lib/fer-edge stay)."""
    unit_path, env_path, _ = paths(prefix, name)
    if not unit_path.is_file() and not env_path.is_file():
        raise FerEdgeError(f"{name}: not installed ({unit_path} does not exist)")
    if prefix is None:
        _need_root("uninstall")
        subprocess.run(["systemctl", "disable", "--now", name], capture_output=True)
    for path in (unit_path, env_path):
        path.unlink(missing_ok=True)
    if prefix is None:
        _systemctl("daemon-reload")
    click.echo(f"removed {unit_path} and {env_path}", err=True)
