"""Which operators can be added to a workflow, and which of them fit a port (no Qt).

Quick add lists the same operators the palette does: the workflow's own and imported ones,
then those of the library folders. A wire dragged from a port into empty space asks which of
them have a port it may join; the answer uses the engine's rule for types
(``TypeRegistry.assignable``: ``int`` -> ``float``, ``T`` -> ``T?``, anything -> ``json``), so
the wire drawn afterwards is never refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.errors import TypeSyntaxError
from engine.languages.porttypes import TypeRegistry
from engine.workflow.model import OperatorSpec
from studio.model.document import Document
from studio.model.library import LibraryFile


@dataclass(frozen=True)
class Choice:
    """One operator that can be added: from the workflow (``library`` None) or a library file."""

    name: str
    spec: OperatorSpec
    library: Path | None
    source: str  # where it comes from, in words ("this workflow", "text")
    port: str | None = None  # the port of it a dragged wire joins (None: the runs-after port)


def choices(doc: Document, libraries: list[LibraryFile]) -> list[Choice]:
    """Every operator quick add offers, each once (an imported library's operator is listed as
    the workflow's), the workflow's first."""
    out = []
    seen: set[tuple[str, Path | None]] = set()
    for name, spec in sorted(doc.operators().items()):
        lib = doc.operator_library(name)
        out.append(Choice(name, spec, None, "this workflow" if lib is None else lib.name.removesuffix(".weft.yaml")))
        seen.add((name, lib))
    for lib in libraries:
        for name, spec in sorted(lib.operators.items()):
            if (name, lib.path) not in seen and name not in doc.workflow.operators:
                out.append(Choice(name, spec, lib.path, lib.title))
    return out


def fitting(
    doc: Document, offered: list[Choice], libraries: list[LibraryFile], node: str, port: str | None, output: bool
) -> list[Choice]:
    """The choices with a port that a wire from ``node.port`` (an output when ``output``; None
    for the runs-after ports) may join, each naming its first such port."""
    if port is None:  # every node has 'after' and 'then'
        return list(offered)
    inputs, outputs = doc.ports(node)
    text = (outputs if output else inputs).get(port)
    if text is None:
        return []
    registries: dict[Path | None, TypeRegistry] = {}
    own_types = {**doc.imported_types(), **doc.workflow.types}
    library_types = {lib.path: lib.types for lib in libraries}
    out = []
    for choice in offered:
        if choice.library not in registries:
            types = {**library_types.get(choice.library, {}), **own_types} if choice.library else own_types
            registries[choice.library] = TypeRegistry.from_definitions(types)[0]
        registry = registries[choice.library]
        candidates = (choice.spec.inputs if output else choice.spec.outputs) or {}
        for name, other in candidates.items():
            try:
                ours, theirs = registry.parse(text), registry.parse(other)
            except TypeSyntaxError:
                continue
            if registry.assignable(ours, theirs) if output else registry.assignable(theirs, ours):
                out.append(Choice(choice.name, choice.spec, choice.library, choice.source, name))
                break
    return out
