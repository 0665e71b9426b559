"""A run's workflow as the run recorded it, loaded again.

A run keeps its top file's text, the library folders it saw (``settings.libraries``) and the
text of every file it includes, at any depth (``settings.included``). Whatever loads a run's
workflow after it started (``weft resume`` and ``weft restart``, ``weft answer``, the studio
answering a question) loads it from these, never from the files on disk, which may have been
edited, broken or removed since: the run goes on with the workflow it started with.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.workflow.loader import Loaded, load_text


def load_recorded(row: Mapping[str, Any], run_id: str) -> Loaded:
    """The workflow of run ``run_id`` (its ``Store.run`` row) as the run started with it.

    Raises ``WorkflowInvalid`` if the recorded text no longer loads (a library it names has
    changed in a way that breaks it, for example)."""
    path = Path(row["path"]) if row.get("path") else None
    settings = row.get("settings") or {}
    return load_text(
        row.get("text") or "",
        row.get("path") or f"run {run_id}",
        path,
        settings.get("libraries") or (),
        settings.get("included"),
    )
