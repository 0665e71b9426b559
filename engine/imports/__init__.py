"""Other tools' workflows as Weft workflow text (``weft import``, File > Import in the studio).

``import_path`` reads an Argo Workflow or WorkflowTemplate (YAML) or an Elyra pipeline
(``.pipeline`` JSON), builds a Weft document, writes it as text and loads that text with the
loader, so what comes out validates. Whatever has no Weft equivalent is a located problem
(``file:line:col``) and nothing is written. The mapping is in docs/import.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine.errors import Location, Problem, WorkflowInvalid
from engine.imports.argo import import_argo
from engine.imports.elyra import import_elyra
from engine.imports.foreign import Foreign, read_foreign
from engine.imports.weft_argo import import_weft_argo, is_weft_export
from engine.workflow.loader import Loaded, read_text_leniently


@dataclass
class Imported:
    text: str
    loaded: Loaded
    source: str  # "argo" or "elyra"
    #: files the source carries for the workflow's folder (relative path -> text): Weft's own
    #: Argo export ships the scripts its commands name (docs/import.md, "Weft's own export")
    files: dict[str, str] = field(default_factory=dict)


def output_name(source: Path) -> str:
    """``NAME.weft.yaml`` for a source ``NAME.yaml`` / ``NAME.pipeline``."""
    stem = source.name
    for suffix in (".yaml", ".yml", ".pipeline", ".json"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    return f"{stem}.weft.yaml"


def import_path(source: Path, target: Path | None = None, image_map: dict[str, str] | None = None) -> Imported:
    """The Weft text for ``source``; ``target`` is where it will be written (its folder is the
    workflow's folder when the text is validated; by default beside the source)."""
    foreign = read_foreign(source)
    foreign.problems.raise_if_any()
    kind, doc, files = _translate(foreign, source, image_map or {})
    foreign.problems.raise_if_any()
    if doc is None:  # pragma: no cover - every refusal adds a problem
        raise WorkflowInvalid([Problem(Location(str(source), 1, 1), "nothing could be imported")])
    text = render(doc, source)
    where = (target or source.parent / output_name(source)).resolve()
    _workflow, loaded, problems = read_text_leniently(text, str(target or where.name), where)
    if problems or loaded is None:
        # the importer wrote something Weft refuses: say so at the source, with Weft's reasons
        raise WorkflowInvalid(
            [
                Problem(Location(str(source), 1, 1), f"the imported workflow does not validate: {p}")
                for p in problems.problems
            ]
        )
    return Imported(text, loaded, kind, files)


def _translate(
    foreign: Foreign, source: Path, image_map: dict[str, str]
) -> tuple[str, dict[str, Any] | None, dict[str, str]]:
    data = foreign.data
    stem = output_name(source)[: -len(".weft.yaml")]
    if isinstance(data, dict) and (data.get("doc_type") == "pipeline" or "pipelines" in data):
        return "elyra", import_elyra(foreign, stem, source.parent, image_map), {}
    if is_weft_export(data):
        doc, files = import_weft_argo(foreign, stem, image_map)
        return "argo", doc, files
    return "argo", import_argo(foreign, stem, image_map), {}


class _Dumper(yaml.SafeDumper):
    pass


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and not value.startswith((" ", "\n")) and " \n" not in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def render(doc: dict[str, Any], source: Path) -> str:
    body = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110, default_flow_style=False)
    return f"# Imported from {source.name} by `weft import` (docs/import.md).\n{body}"
