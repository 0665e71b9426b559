"""One run: the asyncio scheduler, readiness, attempts, tasks' sessions and their protocol."""
