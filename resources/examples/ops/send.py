"""Sends the messages in params.messages, in order: a task whose behaviour is written as data.

Each item is a message body, e.g. {"type": "mutate", "nodes": [...]}; {"sleep": s} pauses.
"""

import json
import time

import weft_task as weft

for message in weft.params.get("messages", []):
    if "sleep" in message:
        time.sleep(message["sleep"])
        continue
    print(json.dumps({"weft": 1, **message}), flush=True)
