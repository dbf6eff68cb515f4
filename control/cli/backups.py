"""``parley backup`` and ``parley restore``: a hot copy of a running server's
store, and putting one in place as a stopped server's data directory.

``backup`` asks the server (Server.CreateBackup, the server administrator's):
the server holds the data directory's lock, so it makes the copy itself, into
a directory on its own machine. ``restore`` runs offline, on the machine of the
data directory, and refuses while a server runs on it (engine/backup.py).
Exit codes of ``restore``: 0 restored; 1 the backup is refused (not_a_backup,
backup_corrupt, backup_newer_schema); 5 the data directory is refused
(data_dir_in_use, data_dir_not_empty without --force).
"""

from __future__ import annotations

import datetime
from pathlib import Path

import click

from control.cli.common import EXIT_REFUSED, Ctx, fail, fields_table, pass_ctx, status_line
from engine.backup import RestoreRefused
from engine.backup import restore as restore_backup
from parley.v1 import control_pb2

EXIT_DATA_DIR = 5


def _created(ms: int) -> str:
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.UTC).strftime(
        "%Y-%m-%d %H:%M:%S UTC"
    )


@click.command()
@click.argument("directory")
@pass_ctx
def backup(ctx: Ctx, directory: str) -> None:
    """Copy the running server's store into DIRECTORY, a new or empty directory
    given as an absolute path on the server's machine (needs manage_accounts:
    the server administrator). The chat goes on meanwhile."""
    status_line(f"backing up into {directory} on the server...")
    try:
        reply = ctx.call(
            ctx.client().server.CreateBackup, control_pb2.CreateBackupRequest(path=directory)
        )
    finally:
        status_line("")
    ctx.out(
        reply,
        lambda: fields_table(
            [
                ("path", reply.path),
                ("size", f"{reply.size_bytes} bytes"),
                ("sha256", reply.sha256),
                ("commit", reply.commit),
                ("epoch", reply.epoch),
                ("schema version", reply.schema_version),
                ("parley version", reply.parley_version),
                ("created", _created(reply.created_ms)),
                ("files", ", ".join(reply.files) or "-"),
            ]
        ),
    )


@click.command()
@click.argument("backup_dir", metavar="BACKUP", type=click.Path(path_type=Path))
@click.argument("data", type=click.Path(path_type=Path))
@click.option(
    "--force",
    is_flag=True,
    help="Restore over a data directory that holds data, which is moved aside "
    "(DATA.before-restore-<time>), not deleted.",
)
def restore(backup_dir: Path, data: Path, force: bool) -> None:
    """Put the backup BACKUP in place as the data directory DATA, with the server
    stopped; its data begins a new epoch (clients holding seqs of the old one are
    given their chats again from the start). The history index is rebuilt at the
    next start. Exit codes: 1 the backup is refused, 5 the data directory is."""
    status_line(f"checking {backup_dir}...")
    try:
        manifest, aside = restore_backup(backup_dir, data, force)
    except RestoreRefused as error:
        status_line("")
        code = EXIT_REFUSED if error.kind == "backup" else EXIT_DATA_DIR
        fail(f"{error.code}: {error.message}", code)
    except OSError as error:
        status_line("")
        fail(f"restore_failed: {error}", EXIT_REFUSED)
    status_line("")
    if aside is not None:
        click.echo(f"The data that was in {data} is kept in {aside}.")
    click.echo(
        f"Restored the backup of {_created(manifest.created_ms)} (commit {manifest.commit}) "
        f"into {data}; epoch {manifest.epoch}. Start the server with --data {data}."
    )
