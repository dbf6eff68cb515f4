"""Write docs/api.md, the reference of Parley's gRPC contract, from the comments
in proto/parley/v1/*.proto.

protoc (grpc_tools) compiles proto/ into descriptors with source info; each
comment is found by the path of what it documents (SourceCodeInfo). The output
follows the files' own order, so it only changes when the proto does.
tests/test_api_docs_fresh.py fails when the committed page is stale.
Run: python scripts/gen_api_docs.py
"""

from __future__ import annotations

import re
import sys
import tempfile
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf import descriptor_pb2 as d

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"
OUT = ROOT / "docs" / "api.md"
HEADER_FILE = "parley/v1/control.proto"
PUBLIC_PACKAGE = "parley.v1"
"""Its header comment (calls, lists, creates, updates, errors, compatibility)
opens the page, and its services and messages come first."""

# Field numbers in descriptor.proto, the steps of a SourceCodeInfo path.
FILE_MESSAGE, FILE_ENUM, FILE_SERVICE, FILE_SYNTAX = 4, 5, 6, 12
MESSAGE_FIELD, MESSAGE_NESTED, MESSAGE_ENUM, MESSAGE_ONEOF = 2, 3, 4, 8
ENUM_VALUE, SERVICE_METHOD = 2, 2

SCALARS = {
    value: name.removeprefix("TYPE_").lower()
    for name, value in d.FieldDescriptorProto.Type.items()
    if name not in ("TYPE_MESSAGE", "TYPE_ENUM", "TYPE_GROUP")
}
WELL_KNOWN = "https://protobuf.dev/reference/protobuf/google.protobuf/#"
SECTION = re.compile(r"^-+\s*(.*?)\s*-+$")


def compile_descriptors() -> d.FileDescriptorSet:
    """The descriptors of proto/'s files (not their imports), with source info."""
    from grpc_tools import protoc  # type: ignore[import-untyped]  # a test-only dependency

    include = Path(protoc.__file__).parent / "_proto"
    sources = sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.rglob("*.proto"))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "parley.binpb"
        args = [
            "protoc",
            f"-I{PROTO_ROOT}",
            f"-I{include}",
            "--include_source_info",
            f"--descriptor_set_out={out}",
            *sources,
        ]
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed")
        return d.FileDescriptorSet.FromString(out.read_bytes())


@dataclass
class Comments:
    """The comments of one file, by the path of what they document."""

    leading: dict[tuple[int, ...], str] = field(default_factory=dict)
    detached: dict[tuple[int, ...], list[str]] = field(default_factory=dict)
    line: dict[tuple[int, ...], int] = field(default_factory=dict)

    @classmethod
    def of(cls, file: d.FileDescriptorProto) -> Comments:
        found = cls()
        for loc in file.source_code_info.location:
            path = tuple(loc.path)
            found.line.setdefault(path, loc.span[0])
            text = "\n\n".join(
                part
                for part in (_clean(loc.leading_comments), _clean(loc.trailing_comments))
                if part
            )
            if text and path not in found.leading:
                found.leading[path] = text
            if loc.leading_detached_comments and path not in found.detached:
                found.detached[path] = [_clean(c) for c in loc.leading_detached_comments]
        return found

    def in_order(self, f: d.FileDescriptorProto) -> list[tuple[int, int]]:
        """The file's top-level messages and enums as (kind, index), in the order
        they are written."""
        found = [(FILE_MESSAGE, i) for i in range(len(f.message_type))]
        found += [(FILE_ENUM, i) for i in range(len(f.enum_type))]
        return sorted(found, key=lambda path: self.line.get(path, 0))

    def __call__(self, *path: int) -> str:
        return self.leading.get(path, "")

    def section(self, *path: int) -> str | None:
        """The title of a "// ---- Title ----" line just above, if there is one."""
        for text in self.detached.get(path, []):
            match = SECTION.match(text)
            if match:
                return match.group(1)
        return None


def _clean(comment: str) -> str:
    """A comment's text without the space after each "//"."""
    return textwrap.dedent(comment).strip()


def _escape(text: str) -> str:
    """Comment text as Markdown that shows it as written."""
    return (
        text.replace("\\", "\\\\")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("*", "\\*")
        .replace("`", "\\`")
    )


def _cell(text: str) -> str:
    """Comment text for a table cell: one line, paragraphs kept apart."""
    paragraphs = (" ".join(p.split()) for p in _escape(text).split("\n\n"))
    return "<br><br>".join(paragraphs).replace("|", "\\|")


def _anchor(kind: str, name: str) -> str:
    return f"{kind}-{name.replace('.', '-')}"


@dataclass
class Page:
    """The reference being written, and where each message and enum is."""

    package: str
    local: set[str] = field(default_factory=set)
    lines: list[str] = field(default_factory=list)

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def para(self, text: str) -> None:
        if text:
            self.add(_escape(text), "")

    def type_link(self, type_name: str) -> str:
        """A message or enum name (".parley.v1.Site") as a link to its section."""
        name = type_name.lstrip(".")
        if name in self.local:
            short = name.removeprefix(self.package + ".")
            return f"[{short}](#{_anchor('type', short)})"
        if name.startswith("google.protobuf."):
            short = name.rsplit(".", 1)[1]
            return f"[{name}]({WELL_KNOWN}{short.lower()})"
        return f"`{name}`"


def render(files: Sequence[d.FileDescriptorProto] | None = None) -> str:
    """The whole page, from the given descriptors (default: proto/ compiled now)."""
    if files is None:
        # The public API only: internal services (the edge link) are not documented here.
        files = [f for f in compile_descriptors().file if f.package == PUBLIC_PACKAGE]
    ordered = sorted(files, key=lambda f: (f.name != HEADER_FILE, f.name))
    packages = {f.package for f in ordered}
    if len(packages) != 1:
        raise SystemExit(f"one package expected, found {sorted(packages)}")
    page = Page(package=packages.pop())
    for f in ordered:
        page.local.update(name for name, _ in _types(f.package, f.message_type, f.enum_type))
    comments = {f.name: Comments.of(f) for f in ordered}

    page.add(f"# Parley gRPC API: {page.package}", "")
    page.add(
        "<!-- Generated from proto/ by scripts/gen_api_docs.py; do not edit. -->",
        "",
        "Generated from the comments in `proto/parley/v1/*.proto`. The released contract,",
        "which every change is checked against, is `api/parley-v1.binpb`.",
        "",
    )
    page.para(comments[HEADER_FILE](FILE_SYNTAX))
    _contents(page, ordered, comments)
    page.add("## Services", "")
    for f in ordered:
        for i, service in enumerate(f.service):
            _service(page, service, comments[f.name], (FILE_SERVICE, i), f.name)
    page.add("## Messages and enums", "")
    for f in ordered:
        _file_types(page, f, comments[f.name])
    return "\n".join(page.lines).rstrip("\n") + "\n"


def _types(
    prefix: str,
    messages: Sequence[d.DescriptorProto],
    enums: Sequence[d.EnumDescriptorProto],
) -> Iterator[tuple[str, d.DescriptorProto | d.EnumDescriptorProto]]:
    """Every message and enum, nested ones after their parent, by full name."""
    for message in messages:
        name = f"{prefix}.{message.name}"
        yield name, message
        yield from _types(name, message.nested_type, message.enum_type)
    for enum in enums:
        yield f"{prefix}.{enum.name}", enum


def _first_sentence(text: str) -> str:
    flat = " ".join(text.split())
    match = re.match(r"(.+?\.)(\s|$)", flat)
    return match.group(1) if match else flat


def _contents(
    page: Page, files: Sequence[d.FileDescriptorProto], comments: dict[str, Comments]
) -> None:
    page.add("## Contents", "", "Services:", "")
    for f in files:
        for i, service in enumerate(f.service):
            summary = _first_sentence(comments[f.name](FILE_SERVICE, i))
            link = f"[{service.name}](#{_anchor('service', service.name)})"
            page.add(f"- {link}" + (f": {_escape(summary)}" if summary else ""))
    page.add("", "Messages and enums, by file:", "")
    for f in files:
        groups: list[tuple[str | None, list[str]]] = [(None, [])]
        for kind, i in comments[f.name].in_order(f):
            section = comments[f.name].section(kind, i)
            if section:
                groups.append((section, []))
            name = (f.message_type if kind == FILE_MESSAGE else f.enum_type)[i].name
            groups[-1][1].append(page.type_link(f".{f.package}.{name}"))
        page.add(f"- `{f.name}`" + (f": {', '.join(groups[0][1])}" if groups[0][1] else ""))
        for section, links in groups[1:]:
            page.add(f"  - {_escape(section or '')}: {', '.join(links)}")
    page.add("")


def _service(
    page: Page,
    service: d.ServiceDescriptorProto,
    comments: Comments,
    path: tuple[int, ...],
    filename: str,
) -> None:
    page.add(f'<a id="{_anchor("service", service.name)}"></a>', "")
    page.add(f"### {service.name}", "", f"In `{filename}`.", "")
    page.para(comments(*path))
    if filename != HEADER_FILE and path == (FILE_SERVICE, 0):
        page.para(comments(FILE_SYNTAX))  # the file's header documents its stream
    for j, method in enumerate(service.method):
        page.add(f'<a id="{_anchor("method", f"{service.name}.{method.name}")}"></a>', "")
        page.add(f"#### {service.name}.{method.name}", "")
        request = ("stream " if method.client_streaming else "") + page.type_link(method.input_type)
        response = ("stream " if method.server_streaming else "") + page.type_link(
            method.output_type
        )
        page.add(f"rpc {method.name}({request}) returns ({response})", "")
        kind = _streaming(method)
        if kind:
            page.add(f"_{kind}._", "")
        page.para(comments(*path, SERVICE_METHOD, j))


def _streaming(method: d.MethodDescriptorProto) -> str:
    if method.client_streaming and method.server_streaming:
        return "Bidirectional streaming"
    if method.client_streaming:
        return "Client streaming"
    if method.server_streaming:
        return "Server streaming"
    return ""


def _file_types(page: Page, f: d.FileDescriptorProto, comments: Comments) -> None:
    page.add(f"### {f.name}", "")
    if f.service:
        links = ", ".join(f"[{s.name}](#{_anchor('service', s.name)})" for s in f.service)
        page.add(f"The messages of {links}.", "")
    elif f.name != HEADER_FILE:
        page.para(comments(FILE_SYNTAX))
    for kind, i in comments.in_order(f):
        if kind == FILE_MESSAGE:
            message = f.message_type[i]
            _message(page, message, f"{f.package}.{message.name}", comments, (kind, i))
        else:
            enum = f.enum_type[i]
            _enum(page, enum, f"{f.package}.{enum.name}", comments, (kind, i))


def _heading(page: Page, full_name: str, comments: Comments, path: tuple[int, ...]) -> None:
    section = comments.section(*path)
    if section and len(path) == 2:
        page.add(f"**{_escape(section)}**", "")
    short = full_name.removeprefix(page.package + ".")
    page.add(f'<a id="{_anchor("type", short)}"></a>', "")
    page.add(f"#### {short}", "")
    page.para(comments(*path))


def _message(
    page: Page,
    message: d.DescriptorProto,
    full_name: str,
    comments: Comments,
    path: tuple[int, ...],
) -> None:
    if message.options.map_entry:
        return  # shown as map<key, value> where it is used
    _heading(page, full_name, comments, path)
    if message.field:
        page.add(
            "| Field | Number | Type | Label | Description |", "| --- | --- | --- | --- | --- |"
        )
        for k, fld in enumerate(message.field):
            page.add(
                f"| `{fld.name}` | {fld.number} | {_field_type(page, message, fld)} "
                f"| {_label(message, fld)} | {_cell(comments(*path, MESSAGE_FIELD, k))} |"
            )
        page.add("")
    else:
        page.add("No fields.", "")
    for k, oneof in enumerate(message.oneof_decl):
        text = comments(*path, MESSAGE_ONEOF, k)
        if text:
            page.add(f"One of `{oneof.name}`: {_cell(text)}", "")
    for k, nested in enumerate(message.nested_type):
        _message(page, nested, f"{full_name}.{nested.name}", comments, (*path, MESSAGE_NESTED, k))
    for k, enum in enumerate(message.enum_type):
        _enum(page, enum, f"{full_name}.{enum.name}", comments, (*path, MESSAGE_ENUM, k))


def _field_type(page: Page, message: d.DescriptorProto, fld: d.FieldDescriptorProto) -> str:
    if fld.type in SCALARS:
        return SCALARS[fld.type]
    entry = _map_entry(message, fld)
    if entry is not None:
        key, value = entry.field
        return f"map&lt;{_field_type(page, entry, key)}, {_field_type(page, entry, value)}&gt;"
    return page.type_link(fld.type_name)


def _map_entry(message: d.DescriptorProto, fld: d.FieldDescriptorProto) -> d.DescriptorProto | None:
    if fld.label != d.FieldDescriptorProto.LABEL_REPEATED or fld.type != fld.TYPE_MESSAGE:
        return None
    for nested in message.nested_type:
        if nested.options.map_entry and fld.type_name.endswith(f".{message.name}.{nested.name}"):
            return nested
    return None


def _label(message: d.DescriptorProto, fld: d.FieldDescriptorProto) -> str:
    if fld.proto3_optional:
        return "optional"
    if _map_entry(message, fld) is not None:
        return ""
    if fld.label == d.FieldDescriptorProto.LABEL_REPEATED:
        return "repeated"
    if fld.HasField("oneof_index"):
        return f"oneof `{message.oneof_decl[fld.oneof_index].name}`"
    return ""


def _enum(
    page: Page,
    enum: d.EnumDescriptorProto,
    full_name: str,
    comments: Comments,
    path: tuple[int, ...],
) -> None:
    _heading(page, full_name, comments, path)
    page.add("| Value | Number | Description |", "| --- | --- | --- |")
    for k, value in enumerate(enum.value):
        text = _cell(comments(*path, ENUM_VALUE, k))
        page.add(f"| `{value.name}` | {value.number} | {text} |")
    page.add("")


def main() -> int:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(render())
    sys.stdout.write(f"{OUT.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
