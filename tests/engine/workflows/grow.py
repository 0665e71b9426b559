"""A dynamic task that sends the messages listed in params["messages"], in order.

Each item is a message body (e.g. {"type": "mutate", "nodes": [...]}); {"sleep": s} pauses.
Lets promise tests describe a task's behaviour as data.
"""

import json
import sys
import time

import weft_task as weft

for message in weft.params.get("messages", []):
    if "sleep" in message:
        time.sleep(message["sleep"])
        continue
    print(json.dumps({"weft": 1, **message}), flush=True)
sys.exit(weft.params.get("exit", 0))
