"""A node's command as the engine runs it, and the words of it that may name a file.

Shared by what starts a task (``engine.running.taskspec``), what keys its cached result by the
files its command names (``engine.running.cache``) and what exports it to run elsewhere
(``engine.argo``), so all three read a command the same way.
"""

from __future__ import annotations

import shlex

from engine.workflow.model import ResolvedNode


def argv_of(resolved: ResolvedNode) -> list[str]:
    """The command as an argv list: never through a shell unless the node says ``shell: true``."""
    command = resolved.command
    if resolved.shell:
        script = [command] if isinstance(command, str) else list(command or [])
        return ["/bin/sh", "-c", *script]
    return list(command or [])


def named_words(argv: list[str], shell: bool) -> list[str]:
    """The argv elements that may name a file; a shell script's words too (``sh -c 'python3
    ops/x.py'`` names ``ops/x.py``)."""
    if not shell or len(argv) < 3:
        return argv
    words = list(argv)
    for script in argv[2:]:
        try:
            words += shlex.split(script)
        except ValueError:  # unbalanced quotes: the shell will say so; its whole text is keyed anyway
            pass
    return words
