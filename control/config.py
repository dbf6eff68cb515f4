"""The settings of ``parley serve``: flags, environment variables and a TOML file.

Every setting has one name, spelled three ways: the key ``http_port`` in the file,
the flag ``--http-port`` and the environment variable ``PARLEY_HTTP_PORT``. A
value given as a flag wins over the environment, which wins over the file, which
wins over the default here. ``load`` is the one place that reads the three; it
checks every key of the file and every variable before it builds anything, so one
run names every mistake at once, each with its key and where it came from.
``ServeSettings`` validates its values in ``__post_init__`` whoever builds it.

Paths in the file are relative to the file's folder (a file in ``/etc/parley``
saying ``data = "data"`` means ``/etc/parley/data``); paths in flags and
variables are relative to the working directory, as a shell reads them.

Errors (all ``ValueError``, bad usage for the CLI)::

    ConfigError           one or more bad settings; .problems lists them
      (each a Problem: the key, where it came from, what is wrong)
"""

from __future__ import annotations

import difflib
import math
import tomllib
import types
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

from control.logs import LOG_FORMATS

ENV_PREFIX = "PARLEY_"


@dataclass(frozen=True, slots=True)
class Problem:
    """One bad setting: KEY (as the file spells it), WHERE it came from, and what."""

    key: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else f"{self.key}: {self.message}"


class ConfigError(ValueError):
    """Bad settings; the message has one line per problem."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def _setting(default: Any, text: str, low: float | None = None, high: float | None = None) -> Any:
    """A field with the help TEXT its flag shows and the bounds its value must keep."""
    return field(default=default, metadata={"help": text, "low": low, "high": high})


@dataclass(frozen=True, slots=True)
class ServeSettings:
    """What an admin sets for ``parley serve``. The runner's own ``ServeConfig`` is
    built from it, with what only tests set (a fake clock, for one)."""

    data: Path = _setting(Path("data"), "Data directory (the store, its lock, credentials)")
    host: str = _setting("127.0.0.1", "Address to listen on (both ports)")
    http_port: int = _setting(8080, "Port for websockets, the widget and pages", 0, 65535)
    grpc_port: int = _setting(50051, "Port for the gRPC services", 0, 65535)
    metrics_port: int = _setting(
        0, "Port for Prometheus metrics at /metrics, on host (0: none)", 0, 65535
    )
    listen_backlog: int = _setting(
        1024, "Connections waiting to be accepted on the HTTP port (capped by the kernel)", 1
    )
    demo: bool = _setting(False, "Create a demo site, department and operator")
    map_size_mb: int = _setting(
        1024, "First size of the LMDB map, in MiB; it grows as the disk allows", 1, 1 << 24
    )
    max_map_size_mb: int = _setting(
        0, "Largest size the LMDB map may grow to, in MiB (0: as the disk allows)", 0, 1 << 30
    )
    site_quota_mb: int = _setting(
        1024, "Storage quota of each site: its messages and tickets, in MiB (0: none)", 0
    )
    visitor_messages_per_hour: int = _setting(
        600, "Messages one visitor may send in an hour (0: no limit)", 0
    )
    message_backlog: int = _setting(
        20_000,
        "Messages accepted and not yet stored, all chats together, past which new ones "
        "are refused 'overloaded' (0: no bound)",
        0,
    )
    visitor_rate: float = _setting(
        20.0, "Frames per second a visitor connection may send, sustained", 0.1
    )
    visitor_burst: float = _setting(60.0, "Frames a visitor may send at once", 1)
    visitor_ip_rate: float = _setting(
        500.0, "Frames per second from one address, all its connections (bursts of twice)", 1
    )
    max_visitors_per_ip: int = _setting(200, "Visitor connections from one address", 1)
    visitor_send_buffer_kib: int = _setting(
        1024,
        "Unsent KiB a visitor's socket may hold before the visitor is cut (it resumes); "
        "a replay waits while half of it is unsent",
        64,
        1 << 20,
    )
    grace_seconds: float = _setting(
        30.0, "An operator whose last session dropped is offline after this", 0, 3600
    )
    abandon_seconds: float = _setting(
        60.0, "A waiting visitor gone this long has abandoned the chat", 0, 86400
    )
    console_origins: str = _setting(
        "", "Other origins whose pages may open the operators' console, comma-separated"
    )
    console_engine: str = _setting(
        "", "The gRPC API (host:port) the console bridge relays to; empty: this server's own"
    )
    history: bool = _setting(
        True, "Keep the search index of past conversations (history list and search)"
    )
    password_hash_memory_kib: int = _setting(
        65_536,
        "Memory of each new password hash (argon2id), in KiB: its cost; lower is cheaper to "
        "compute and to guess (a stored hash keeps the cost it was made with)",
        32,
        1 << 22,
    )
    tls_cert: Path | None = _setting(None, "PEM certificate chain: serve gRPC over TLS")
    tls_key: Path | None = _setting(None, "PEM private key of tls_cert")
    log_format: str = _setting(
        "human", "Log lines for people (human) or one JSON object a line (json)"
    )

    def console_origin_list(self) -> tuple[str, ...]:
        return _origins(self.console_origins)

    def __post_init__(self) -> None:
        problems = []
        for f in fields(self):
            value = getattr(self, f.name)
            low, high = f.metadata["low"], f.metadata["high"]
            if isinstance(value, float) and not math.isfinite(value):
                problems.append(Problem(f.name, "", f"must be a finite number, got {value}"))
            elif (low is not None and value < low) or (high is not None and value > high):
                bounds = f"at least {low}" if high is None else f"between {low} and {high}"
                problems.append(Problem(f.name, "", f"must be {bounds}, got {value}"))
        if self.log_format not in LOG_FORMATS:
            choices = " or ".join(LOG_FORMATS)
            problems.append(
                Problem("log_format", "", f"must be {choices}, got {self.log_format!r}")
            )
        if not self.host:
            problems.append(Problem("host", "", "must not be empty"))
        for origin in self.console_origin_list():
            if not origin.startswith(("http://", "https://")) or origin.count("/") != 2:
                problems.append(
                    Problem("console_origins", "", f"{origin!r} is no origin (https://host[:port])")
                )
        if self.http_port == self.grpc_port != 0:
            problems.append(Problem("http_port", "", "must differ from grpc_port"))
        if self.metrics_port and self.metrics_port in (self.http_port, self.grpc_port):
            problems.append(Problem("metrics_port", "", "must differ from http_port and grpc_port"))
        if (self.tls_cert is None) != (self.tls_key is None):
            key = "tls_key" if self.tls_key is None else "tls_cert"
            problems.append(Problem(key, "", "tls_cert and tls_key go together"))
        if problems:
            raise ConfigError(problems)


def _origins(value: str) -> tuple[str, ...]:
    return tuple(o.strip().rstrip("/") for o in value.split(",") if o.strip())


def defaults() -> dict[str, Any]:
    """Each setting's default, by name."""
    return {f.name: f.default for f in fields(ServeSettings)}


def env_name(key: str) -> str:
    """The environment variable of a setting: http_port -> PARLEY_HTTP_PORT."""
    return ENV_PREFIX + key.upper()


def flag_name(key: str) -> str:
    """The flag of a setting: http_port -> --http-port."""
    return "--" + key.replace("_", "-")


def setting_types() -> dict[str, tuple[type, bool]]:
    """Each setting's type, and whether it may be left unset (None)."""
    kinds = {}
    for name, hint in get_type_hints(ServeSettings).items():
        args = get_args(hint)
        if get_origin(hint) in (Union, types.UnionType):
            kinds[name] = (next(a for a in args if a is not type(None)), True)
        else:
            kinds[name] = (hint, False)
    return kinds


_TYPE_WORDS: dict[type, str] = {
    bool: "true or false",
    int: "an integer",
    float: "a number",
    str: "a string",
    Path: "a path (a non-empty string)",
}


def _from_toml(value: Any, kind: type, base: Path) -> Any:
    """VALUE from the file as KIND, or raise TypeError. Relative paths are read
    from BASE, the file's folder."""
    if kind is bool and isinstance(value, bool):
        return value
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind is str and isinstance(value, str):
        return value
    if kind is Path and isinstance(value, str) and value:
        return base / value
    raise TypeError


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _from_env(text: str, kind: type) -> Any:
    """TEXT from an environment variable as KIND, or raise TypeError."""
    try:
        if kind is bool:
            if text.lower() in _TRUE | _FALSE:
                return text.lower() in _TRUE
            raise TypeError
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
    except ValueError:
        raise TypeError from None
    return Path(text) if kind is Path else text


def _describe(value: Any) -> str:
    """How an error names a value it refused: its TOML kind and the value."""
    kind = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}.get(
        type(value), f"a {type(value).__name__}"
    )
    return f"{kind} ({value!r})" if not isinstance(value, dict | list) else kind


def read_file(path: Path) -> dict[str, Any]:
    """The TOML file at PATH as a table; a file that cannot be read or is not TOML
    is a ConfigError naming it."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as error:
        reason = error.strerror or str(error)
        problem = Problem("", str(path), f"cannot read the config file: {reason}")
        raise ConfigError([problem]) from None
    except UnicodeDecodeError:
        raise ConfigError([Problem("", str(path), "is not TOML: not UTF-8 text")]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError([Problem("", str(path), f"is not TOML: {error}")]) from None


def load(
    flags: Mapping[str, Any],
    environ: Mapping[str, str],
    path: Path | None = None,
) -> ServeSettings:
    """The settings: FLAGS given on the command line (by setting name, already
    typed), else the ``PARLEY_*`` variables of ENVIRON, else the file at PATH,
    else the defaults. Raises ConfigError naming every bad key at once."""
    kinds = setting_types()
    values: dict[str, Any] = {}
    where: dict[str, str] = {}
    problems: list[Problem] = []
    if path is not None:
        table = read_file(path)
        for key, raw in table.items():
            place = f"{key} in {path}"
            if key not in kinds:
                near = difflib.get_close_matches(key.replace("-", "_"), list(kinds), n=1)
                hint = f"did you mean {near[0]}?" if near else "parley serve --help lists them"
                message = f"unknown key ({hint})"
                problems.append(Problem(key, f"{key!r} in {path}", message))
                continue
            kind, _ = kinds[key]
            try:
                values[key] = _from_toml(raw, kind, path.parent)
            except TypeError:
                message = f"expected {_TYPE_WORDS[kind]}, got {_describe(raw)}"
                problems.append(Problem(key, place, message))
                continue
            where[key] = place
    for key, (kind, _) in kinds.items():
        text = environ.get(env_name(key))
        if not text:  # an empty variable is an unset one (a container's default)
            continue
        try:
            values[key] = _from_env(text, kind)
        except TypeError:
            message = f"expected {_TYPE_WORDS[kind]}, got {text!r}"
            problems.append(Problem(key, env_name(key), message))
            continue
        where[key] = env_name(key)
    for key, value in flags.items():
        if value is not None:
            values[key] = value
            where[key] = flag_name(key)
    if problems:
        raise ConfigError(problems)
    try:
        return ServeSettings(**values)
    except ConfigError as error:
        # The dataclass knows the key; the loader knows where its value came from.
        placed = [
            Problem(p.key, where.get(p.key, f"{p.key} (default)"), p.message)
            for p in error.problems
        ]
        raise ConfigError(placed) from None
