"""Creates a random number (0 to params.most) of copies of params.operator between itself and B."""

import random

import weft_task as weft

count = random.randint(0, int(weft.params.get("most", 4)))
operator = weft.params.get("operator", "M")
join = weft.params.get("join", "B")
weft.log(f"{weft.node} maps over {count} item(s)")
for i in range(1, count + 1):
    name = f"{operator.lower()}-{i}"
    weft.mutate(
        nodes=[{"id": name, "operator": operator, "params": {"x": i}}],
        edges=[{"from": weft.node, "to": name}, {"from": name, "to": join}],
    )
