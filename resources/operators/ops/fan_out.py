"""Creates params.n nodes of params.operator after itself, and a join node after all of them.

It first promises what it will do (only those nodes, and no more than n + 1), so the studio's
projection can say so while it runs.
"""

import weft_task as weft

n = int(weft.params.get("n", 3))
operator = str(weft.params.get("operator", "sleep"))
me = weft.node
names = [f"{me}-{i}" for i in range(1, n + 1)]
weft.promise({"only_nodes": {"by": me, "match": [f"{me}-*"]}})
weft.promise({"max_nodes": {"by": me, "max": n + 1}})
weft.mutate(
    nodes=[{"id": name, "operator": operator} for name in names]
    + [{"id": f"{me}-join", "command": ["python3", "-c", "import weft_task as w; w.log('joined')"]}],
    edges=[{"from": me, "to": name} for name in names] + [{"from": name, "to": f"{me}-join"} for name in names],
)
weft.log(f"created {n} {operator} nodes and a join")
