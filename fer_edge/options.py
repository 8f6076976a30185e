"""Which options the user typed (not defaults), for the commands that refuse or name options they
would not apply (train --resume, convert, bench --classify-only)."""

from __future__ import annotations

import click


def given_on_command_line() -> dict[str, str]:
    """Parameter name -> the option as typed (`--no-augment` for a switched-off flag), for the
    options given on the command line of the command now running."""
    ctx = click.get_current_context()
    given = {}
    for param in ctx.command.params:
        if ctx.get_parameter_source(param.name) == click.core.ParameterSource.COMMANDLINE:
            off = getattr(param, "secondary_opts", None) and not ctx.params[param.name]  # --no-augment
            given[param.name] = param.secondary_opts[0] if off else param.opts[0]
    return given
