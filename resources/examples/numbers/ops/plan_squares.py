"""Reads whole numbers, one a line, from the file inputs.path; creates one `square` task per number and a
`sum` of their results wired into `join`, and promises that shape in the same change."""

import os
import sys

import weft_task as weft

numbers = []
name = os.path.relpath(weft.inputs["path"], weft.workspace)  # as the workflow named it: data/...
with open(weft.inputs["path"], encoding="utf-8") as lines:
    for i, line in enumerate(lines, 1):
        text = line.strip()
        if not text:
            continue
        try:
            numbers.append(int(text))
        except ValueError:
            sys.exit(f"line {i} of {name} is not a whole number")
squares = [{"id": f"m-{i}", "operator": "square", "params": {"x": x}} for i, x in enumerate(numbers, 1)]
total = {
    "id": "sum",
    "command": ["python3", "ops/add_up.py"],
    "inputs": {f"y{i}": "int" for i in range(1, len(numbers) + 1)},
    "outputs": {"total": "int", "count": "int"},
}
weft.mutate(
    nodes=squares + [total],
    edges=[{"from": "plan", "to": f"m-{i}"} for i in range(1, len(numbers) + 1)]
    + [{"from": f"m-{i}.y", "to": f"sum.y{i}"} for i in range(1, len(numbers) + 1)]
    + [{"from": "sum.total", "to": "join.total"}, {"from": "sum.count", "to": "join.count"}]
    + ([] if numbers else [{"from": "plan", "to": "sum"}]),
    promises=[{"id": "map", "shape": "plan -> square* -> sum -> join"}],
)
weft.log(f"planned {len(numbers)} squares and a sum")
