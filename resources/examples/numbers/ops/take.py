"""Copies each file its argv names (the left one, then the right one) into the run's workspace,
at the same relative path, and outputs it as a `file` value.

Both ends count for `cache: true`: a file the argv names is covered by this node's key by its
content, and a `file` input by the content of the file, so an edited data file re-runs exactly
the nodes that read it."""

import os
import shutil
import sys

import weft_task as weft

for name, source in zip(("left", "right"), sys.argv[1:]):
    target = weft.path(source)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copyfile(source, target)
    weft.output(name, target)
