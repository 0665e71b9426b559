"""Counts the words of its input text (params: case, min_length, strip_punctuation)."""

import string
from collections import Counter

import weft_task as weft

text = weft.inputs["text"]
if weft.params.get("case", "lower") == "lower":
    text = text.lower()
words = text.split()
if weft.params.get("strip_punctuation", False):
    words = [w.strip(string.punctuation) for w in words]
shortest = int(weft.params.get("min_length", 1))
words = [w for w in words if len(w) >= shortest]
counts = Counter(words)
for i, _ in enumerate(words, 1):
    if i % 5 == 0:
        weft.progress(done=i, total=len(words))
weft.output("counts", dict(counts))
weft.output("total", len(words))
