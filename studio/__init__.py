"""Weft Studio: the desktop canvas. Imports the engine; the engine never imports it."""
