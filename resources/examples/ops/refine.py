"""One refinement: closes half the gap between the quality it is given and 1."""

import weft_task as w

quality = float(w.inputs["quality"])
w.log(f"refining a draft of quality {quality:.3f}")
w.output("quality", quality + (1.0 - quality) * float(w.params.get("rate", 0.5)))
