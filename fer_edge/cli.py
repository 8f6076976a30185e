"""`fer-edge` command line. Each command imports its implementation when it runs, so `run` and
`bench` never load TensorFlow and `--help` stays instant."""

from __future__ import annotations

import json
import os
import sys

import click

from fer_edge import __version__
from fer_edge.errors import FerEdgeError, Terminated


_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())  # click >= 8.2


class _Group(click.Group):
    """Turns FerEdgeError into one `error: ...` line and a non-zero exit, never a traceback."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """click's own usage errors (unknown option, bad value) as one `error:` line too, instead of
        its Usage/Try/Error block; exit status 2 as click gives them."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _NO_ARGS_IS_HELP as exc:  # `fer-edge` alone: the help, as click shows it
            exc.show()
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            where = f" (see {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
            click.echo(f"error: {exc.format_message()}{where}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except FerEdgeError as exc:
            message = str(exc)  # one line of reasonable length, whatever a file's content put into it
            click.echo(f"error: {message if len(message) <= 2000 else message[:2000] + ' ...'}", err=True)
            ctx.exit(exc.exit_code)
        except Terminated as exc:
            click.echo(f"terminated ({exc})", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except BrokenPipeError:  # e.g. `--jsonl - | head`
            sys.stderr.close()
            ctx.exit(0)
        except (ImportError, OSError) as exc:  # a native library the OS lacks (libGL, libcamera, ...)
            from fer_edge.native_libs import missing_library_message

            line = missing_library_message(exc)
            if line is None:
                raise
            click.echo(f"error: {line}", err=True)
            ctx.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fer-edge")
def cli() -> None:
    """Facial-expression recognition: train on a host, convert to int8 TFLite, run on the edge.

    \b
    host:   data -> train -> evaluate -> convert
    device: run (camera/video/images -> detect -> classify -> output), bench, models
    both:   report (timelines and summary of run's JSONL/CSV)
    """


# ----------------------------------------------------------------------------- data
@cli.group(cls=_Group)
def data() -> None:
    """Inspect and cache FER2013 (CSV, fer2013.tar.gz, or image folders)."""


@data.command("info")
@click.argument("path", type=click.Path(path_type=str))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.option("--no-cache", is_flag=True, help="Parse the source even when a cache exists.")
def data_info(path: str, as_json: bool, no_cache: bool) -> None:
    """Counts per split and class."""
    from fer_edge.data.cache import load
    from fer_edge.labels import EMOTIONS
    from fer_edge.table import format_table

    summary = load(path, use_cache=not no_cache, progress=not as_json).summary()
    if as_json:
        click.echo(json.dumps(summary))
        return
    rows = [[name, s["total"], *s["per_class"].values()] for name, s in summary["splits"].items()]
    click.echo(format_table(["split", "total", *EMOTIONS], rows))


@data.command("clear-cache")
def data_clear_cache() -> None:
    """Remove what fer-edge cached (parsed FER2013, teachers' predictions) under FER_EDGE_CACHE_DIR
    (default ~/.cache/fer-edge); it is made again when needed."""
    from fer_edge.data.cache import cache_dir, clear_cache

    count, freed = clear_cache()
    if count:
        click.echo(f"removed {count} cached file{'s' if count != 1 else ''} ({freed / 1e6:.1f} MB) from {cache_dir()}")
    else:
        click.echo(f"nothing cached in {cache_dir()}")


@data.command("prepare")
@click.argument("path", type=click.Path(path_type=str))
@click.option("-o", "--output", required=True, type=click.Path(path_type=str),
              help="Cache file to write: .npz, or .npz.xz (compressed, to carry to another machine); a folder gets fer2013.npz inside.")
def data_prepare(path: str, output: str) -> None:
    """Parse a source once into a compact uint8 cache that every command can load."""
    from fer_edge.atomic import require_output_folder
    from fer_edge.data.cache import cache_output, load, save_npz

    out = cache_output(output)
    require_output_folder(out, "-o")  # before the parse, which takes minutes
    ds = load(path, use_cache=False, progress=True)
    save_npz(ds, out)
    click.echo(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, " +
               ", ".join(f"{n} {len(ds.splits[n])}" for n in ds.split_names()) + ")")


@data.command("sample")
@click.argument("path", type=click.Path(path_type=str))
@click.option("--split", default="Training", show_default=True)
@click.option("-n", "--samples", default=500, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0))  # numpy takes no negative seed
@click.option("-o", "--output", required=True, type=click.Path(path_type=str),
              help="Cache file to write: .npz, or .npz.xz (compressed); a folder gets sample.npz inside.")
def data_sample(path: str, split: str, samples: int, seed: int, output: str) -> None:
    """Write a deterministic stratified sample (all 7 classes) of one split."""
    from fer_edge.atomic import require_output_folder
    from fer_edge.data.cache import cache_output, load, save_npz
    from fer_edge.data.dataset import Dataset, Split
    from fer_edge.data.sampling import stratified_indices

    out = cache_output(output, "sample.npz")
    require_output_folder(out, "-o")
    part = load(path).split(split)
    idx = stratified_indices(part.labels, samples, seed)
    ds = Dataset(source=f"{path} ({split}, stratified n={samples} seed={seed})",
                 splits={split: Split(part.images[idx], part.labels[idx])})
    out = save_npz(ds, out)
    click.echo(f"wrote {out}: {len(idx)} rows of {split}")


# ----------------------------------------------------------------------------- other commands
# Each lives beside its implementation; these modules import only click at load time.
from fer_edge.choices_command import models  # noqa: E402
from fer_edge.convert.commands import convert  # noqa: E402
from fer_edge.edge.commands import bench, run  # noqa: E402
from fer_edge.report import report  # noqa: E402
from fer_edge.service import service  # noqa: E402
from fer_edge.train.commands import evaluate, train  # noqa: E402

for _command in (train, evaluate, convert, run, bench, models, report, service):
    cli.add_command(_command)


def _terminate_like_ctrl_c() -> None:
    """SIGTERM and SIGHUP raise Terminated (a KeyboardInterrupt) in the main thread, so every
    command's Ctrl-C path (outputs kept, checkpoint saved) also serves them. A signal the parent
    set to be ignored (`nohup`) stays ignored."""
    import signal

    def handler(signum, _frame):
        raise Terminated(signum)

    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)  # no SIGHUP on Windows
        if sig is not None and signal.getsignal(sig) is not signal.SIG_IGN:
            signal.signal(sig, handler)


def main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter, host commands only
    _terminate_like_ctrl_c()
    cli(prog_name="fer-edge")


if __name__ == "__main__":
    main()
