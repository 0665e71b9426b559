"""Summarises word counts."""

import weft_task as weft

counts = weft.inputs["counts"]
top = sorted(counts, key=lambda w: (-counts[w], w))[:3]
weft.log("most common: " + ", ".join(f"{w} ({counts[w]})" for w in top))
weft.output("summary", {"total": weft.inputs["total"], "distinct": len(counts), "top": top})
