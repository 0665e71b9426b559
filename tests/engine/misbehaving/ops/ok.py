"""A well-behaved task: logs a line and, if it declares an output 'n', reports it."""

import weft_task as weft

weft.log(f"{weft.node}: fine (attempt {weft.attempt})")
if "value" in weft.params:
    weft.output("n", weft.params["value"])
