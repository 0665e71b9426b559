"""Picks one chain of params.choices at random and puts it between itself and B, in one message."""

import random

import weft_task as weft

chain = random.choice(weft.params["choices"])
join = weft.params.get("join", "B")
ends = [weft.node] + chain + [join]
weft.log(f"{weft.node} chose {' -> '.join(chain)}")
weft.mutate(
    nodes=[{"id": name, "operator": "step"} for name in chain],
    edges=[{"from": a, "to": b} for a, b in zip(ends, ends[1:])],
)
