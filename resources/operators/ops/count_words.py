"""Counts the words of its input text."""

from collections import Counter

import weft_task as weft

words = weft.inputs["text"].lower().split()
counts = Counter(words)
for i, _ in enumerate(words, 1):
    if i % 5 == 0:
        weft.progress(done=i, total=len(words))
weft.output("counts", dict(counts))
weft.output("total", len(words))
