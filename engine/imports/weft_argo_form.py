"""The form ``weft export --to argo`` writes (``engine.argo.export``), as its importer reads it.

The names are the exporter's, repeated here because export and import are separate layers
(neither imports the other); the round-trip tests (``tests/engine/argo/test_roundtrip.py``)
keep them in step.
"""

from __future__ import annotations

import re
from typing import Any

IDS_KEY, NAME_KEY, DESCRIPTION_KEY = "weft/node-ids", "weft/name", "weft/description"
TYPES_KEY, SETTINGS_KEY = "weft/types", "weft/settings"
INPUTS_KEY, OUTPUTS_KEY, RUNS_KEY = "weft/inputs", "weft/outputs", "weft/runs"
LAUNCHER = ["python3", "/opt/weft/weft_argo.py"]
HELPERS = ("/opt/weft/weft_argo.py", "/opt/weft/weft_task.py")
WORKFLOW = "/workflow"
ENTRY = "main"
NODE_PARAM, PARAMS_PARAM, FAN_OUT = "weft-node", "weft-params", "weft-fan-out"
#: the launcher's options, each with one value
OPTIONS = {
    "--node",
    "--run",
    "--attempt",
    "--params",
    "--input",
    "--input-file",
    "--output",
    "--output-file",
    "--optional",
    "--fan-out",
    "--fan-out-into",
    "--fan-out-least",
    "--fan-out-defaults",
}
#: the order of a node's keys in the text written
ORDER = (
    *("command", "shell", "inputs", "outputs", "params", "trigger", "dynamic", "image", "executor", "network"),
    *("workdir", "env", "resources", "retries", "retry_delay", "timeout"),
)
ENDS = ("Succeeded", "Failed", "Errored", "Skipped", "Omitted")
TASK_REF = re.compile(r"^\{\{tasks\.([A-Za-z0-9-]+)\.outputs\.(parameters|artifacts)\.([A-Za-z0-9_-]+)\}\}$")
WORKFLOW_REF = re.compile(r"^\{\{workflow\.parameters\.([A-Za-z_][A-Za-z0-9_]*)\}\}$")
INPUT_TYPE = re.compile(r"^(.+) \(JSON text\)$")
#: a ``when`` as the exporter writes it (``engine.argo.conditions``): nothing else is read back
WHEN_TOKEN = re.compile(
    r"\s*(?:(?P<ref>\{\{(?:tasks\.[A-Za-z0-9-]+\.outputs\.parameters\.[A-Za-z0-9_-]+"
    r"|workflow\.parameters\.[A-Za-z_][A-Za-z0-9_]*)\}\})|(?P<op>&&|\|\||==|!=|<=|>=|<|>|!|\(|\))"
    r"|(?P<word>true|false|-?[0-9][0-9.eE+-]*))"
)


def number(value: Any) -> Any:
    """A number the exporter wrote as text (Argo's schema wants some as strings)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]*\.[0-9]+", value.strip()):
        return float(value)
    return value
