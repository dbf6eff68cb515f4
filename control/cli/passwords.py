"""How a command gets a password, with or without a person at a terminal.

A password comes from standard input (``--password-stdin``), a file
(``--password-file``), ``--password`` where a command has it, else its environment
variable, else a prompt on the terminal (a new password asked twice). An option
on the command line is seen by other users of the machine (``ps``), so scripts
give it on standard input or in a file, and containers in the environment.

Without a terminal to ask on, a missing password is a usage error (exit 2) that
names the ways to give it: never a prompt that reads a script's input, and never
exit 1, which means the server refused.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class Secret:
    """One password a command needs: what the prompt says, the environment
    variable it may come from, and whether it is a new one (asked twice)."""

    prompt: str
    env: str
    new: bool = False


def secret_options(lines: str, plain: bool = False) -> Callable[[F], F]:
    """``--password-stdin`` and ``--password-file`` (and ``--password`` when PLAIN),
    for a command reading LINES (e.g. "the new password") from them."""

    def decorate(function: F) -> F:
        function = click.option(
            "--password-file",
            type=click.Path(dir_okay=False, path_type=Path),
            help=f"Read {lines} from this file",
        )(function)
        function = click.option(
            "--password-stdin", is_flag=True, help=f"Read {lines} from standard input"
        )(function)
        if plain:
            function = click.option(
                "--password",
                help="The password (seen by other users of the machine: prefer "
                "--password-stdin or --password-file)",
            )(function)
        return function

    return decorate


def secrets(
    wanted: Sequence[Secret],
    *,
    from_stdin: bool,
    from_file: Path | None,
    given: str | None = None,
) -> list[str]:
    """The passwords WANTED, one per line of standard input or of the file, or the
    one GIVEN; else each from its environment variable, else asked on the terminal.

    Without a terminal to ask on, a missing password is a usage error naming the
    ways to give it (exit 2), never a prompt that reads a script's input."""
    chosen = [
        name
        for name, used in (
            ("--password", given is not None),
            ("--password-stdin", from_stdin),
            ("--password-file", from_file is not None),
        )
        if used
    ]
    if len(chosen) > 1:
        raise click.UsageError(f"give only one of {' and '.join(chosen)}")
    if given is not None:
        if not given:
            raise click.UsageError("--password is empty")
        return [given]
    if from_stdin:
        return _lines(sys.stdin.read(), len(wanted), "standard input (--password-stdin)")
    if from_file is not None:
        try:
            text = from_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise click.UsageError(f"cannot read --password-file {from_file}: {error}") from None
        return _lines(text, len(wanted), f"--password-file {from_file}")
    return [_ask(one) for one in wanted]


def _lines(text: str, count: int, where: str) -> list[str]:
    """The first COUNT lines of TEXT, each a password (line ends removed, nothing else)."""
    found = text.splitlines()[:count]
    if len(found) < count or not all(found):
        what = "a password" if count == 1 else f"{count} passwords, one per line"
        raise click.UsageError(f"{where}: expected {what}")
    return found


def _ask(one: Secret) -> str:
    """ONE from its environment variable, else asked (twice if new) on a terminal."""
    value = os.environ.get(one.env)
    if value:
        return value
    if not sys.stdin.isatty():
        raise click.UsageError(
            f"no password given and no terminal to ask on: use --password-stdin, "
            f"--password-file or the environment variable {one.env}"
        )
    try:
        value = getpass.getpass(one.prompt)
        if one.new and getpass.getpass("Repeat it: ") != value:
            raise click.UsageError("the two passwords differ")
    except EOFError:
        raise click.UsageError("no password given") from None
    return value
