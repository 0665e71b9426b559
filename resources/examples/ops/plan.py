"""Creates the rest of the workflow: n squares, and a sum with one typed input per square."""

import weft_task as weft

n = int(weft.params.get("n", 3))
squares = [{"id": f"square-{i}", "operator": "square", "params": {"x": i}} for i in range(1, n + 1)]
total = {
    "id": "sum",
    "command": ["python3", "ops/sum.py"],
    "inputs": {f"y{i}": "int" for i in range(1, n + 1)},
    "outputs": {"total": "int"},
}
weft.mutate(
    nodes=squares + [total],
    edges=[{"from": f"square-{i}.y", "to": f"sum.y{i}"} for i in range(1, n + 1)],
)
weft.log(f"planned {n} squares and a sum")
