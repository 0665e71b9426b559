"""Creates one node per item of its input list, each running params.command with the item as
its last argument (never through a shell), and a join node that gathers what each printed.

It says what it will create in the same change that creates it: a shape promise
``ME -> ITEM* -> ME-join`` (``ME -> ITEM* -> ME-join -> NEXT`` with ``into: NEXT.PORT``, where
NEXT is a node the workflow runs after ME), so every later mutation is held to it.
"""

import json

import weft_task as weft

command = weft.params.get("command")
if not isinstance(command, list) or not command:
    raise SystemExit("params.command must be a non-empty list of arguments")
items = weft.inputs["items"]
if not isinstance(items, list):
    raise SystemExit(f"input items must be a list, not {type(items).__name__}")
me = weft.node
join = f"{me}-join"
names = [f"{me}-item-{i}" for i in range(1, len(items) + 1)]
nodes = [
    {
        "id": name,
        "operator": "weft:command",
        "params": {"argv": [*command, item if isinstance(item, str) else json.dumps(item)]},
    }
    for name, item in zip(names, items)
]
gather = (
    f"import weft_task as w\nn = {len(names)}\nw.output('results', [w.inputs[f'r{{i}}'] for i in range(1, n + 1)])\n"
)
nodes.append(
    {
        "id": join,
        "command": ["python3", "-c", gather],
        "inputs": {f"r{i}": "str" for i in range(1, len(names) + 1)},
        "outputs": {"results": "list[str]"},
    }
)
edges = [{"from": me, "to": name} for name in names]
edges += [{"from": f"{name}.stdout", "to": f"{join}.r{i}"} for i, name in enumerate(names, 1)]
if not names:
    edges.append({"from": me, "to": join})
into = str(weft.params.get("into") or "")
shape = f"{me} -> '{me}-item-*'* -> {join}"
if into:  # the node after the map (wired from ME in the workflow) closes the region
    edges.append({"from": f"{join}.results" if "." in into else join, "to": into})
    shape = f"{me} -> '{me}-item-*'* -> '{join}' -> {into.split('.')[0]}"
weft.mutate(nodes=nodes, edges=edges, promises=[{"shape": shape}])
weft.log(f"mapped {' '.join(command)} over {len(items)} item(s)")
