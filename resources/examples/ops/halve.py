"""Halves params.x; while the result is at least 1, adds the next halving step after itself."""

import weft_task as weft

x = float(weft.params["x"]) / 2
weft.output("x", x)
if x >= 1:
    number = int(weft.node.rsplit("-", 1)[1]) + 1
    after = weft.params.get("then", "done")
    step = f"halve-{number}"
    weft.log(f"x = {x:g}: one more step ({step})")
    weft.mutate(
        nodes=[{"id": step, "operator": "halve", "params": {"x": x}}],
        edges=[{"from": weft.node, "to": step}, {"from": step, "to": after}],
    )
else:
    weft.log(f"x = {x:g}: done")
