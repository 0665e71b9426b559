"""Weft's headless engine: workflow text, runs, the task protocol, history. Never imports Qt."""

__version__ = "0.1.0"
