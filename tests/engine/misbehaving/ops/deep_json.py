"""Sends an output message whose value is a list nested params["depth"] levels deep."""

from _raw import raw, start

params = start().get("params", {})
depth = int(params.get("depth", 100000))
raw('{"weft": 1, "type": "output", "name": "v", "value": ' + "[" * depth + "]" * depth + "}\n")
