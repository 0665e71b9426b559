"""Picks one of params.choices at random and puts it between itself and every successor."""

import random

import weft_task as weft

choice = random.choice(weft.params["choices"])
weft.log(f"{weft.node} chose {choice}")
weft.mutate(
    nodes=[{"id": choice, "operator": "step"}],
    edges=[{"from": weft.node, "to": choice}] + [{"from": choice, "to": s} for s in weft.params.get("then", ["end"])],
)
