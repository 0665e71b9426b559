"""Sends one output message with params["name"] and params["value"] (unchecked), exits 0."""

from _raw import send, start

params = start().get("params", {})
send({"weft": 1, "type": "output", "name": params["name"], "value": params["value"]})
