"""The ``tidings`` command's tree: the client command groups under one root (Typer)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tidings import __version__
from tidings.cli import bench, events, executions, listeners, receiver, run, workflows
from tidings.cli.common import Settings
from tidings.cli.connection import DEFAULT_SERVER, ServerOptions, resolve
from tidings.cli.failures import CliError

app = typer.Typer(
    name="tidings",
    help="tidings: a workflow engine that tells other systems what happened.\n\n"
    "`tidings serve` runs the server; the other commands talk to one (--server). "
    "Exit codes: 0 done, 1 the followed execution failed (or the server failed), "
    "2 bad usage or a refused request, 3 the server is unreachable.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tidings {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    server: Annotated[
        str | None,
        typer.Option(
            envvar="TIDINGS_SERVER",
            help=f"The server's gRPC host:port [default: {DEFAULT_SERVER}].",
            show_default=False,
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="TIDINGS_TOKEN",
            help="Send `authorization: Bearer TOKEN` with every call.",
            show_default=False,
        ),
    ] = None,
    ca_file: Annotated[
        Path | None,
        typer.Option(
            envvar="TIDINGS_CA_FILE",
            help="Speak TLS, trusting this CA certificate (PEM).",
            dir_okay=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output for every command.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Options every command that talks to a server shares.

    What an option or the environment leaves out comes from the client configuration
    file (TIDINGS_CLI_CONFIG, else ~/.config/tidings/cli.toml): server, token, ca_file.
    """
    if ctx.invoked_subcommand in ("serve", "token", "backup"):
        ctx.obj = Settings(ServerOptions(), as_json)
        return
    try:
        options = resolve(server, token, ca_file)
    except CliError as exc:
        typer.echo(f"tidings: error: {exc.message}", err=True)
        raise typer.Exit(exc.code) from None
    ctx.obj = Settings(options, as_json)


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def serve(ctx: typer.Context) -> None:
    """Run the engine and its gRPC API (`tidings serve --help` for its options)."""
    from tidings.cli import serve as serving

    raise typer.Exit(serving.main(ctx.args))


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def token(ctx: typer.Context) -> None:
    """Make an API token and its configuration entry (`tidings token --help`)."""
    from tidings.cli import tokens

    raise typer.Exit(tokens.main(ctx.args))


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def backup(ctx: typer.Context) -> None:
    """Copy the database online, while it serves (`tidings backup --help`)."""
    from tidings.cli import backup as copying

    raise typer.Exit(copying.main(ctx.args))


app.add_typer(workflows.app, name="workflow")
app.command("run")(run.run)
app.add_typer(executions.app, name="execution")
app.add_typer(executions.tasks_app, name="task")
listeners.app.command("receive")(receiver.receive)
app.add_typer(listeners.app, name="listener")
app.add_typer(events.app, name="events")
app.add_typer(bench.app, name="bench")
