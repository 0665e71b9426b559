"""Workflow text: a file becomes a validated Workflow, and a Workflow becomes text again."""
