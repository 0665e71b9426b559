"""The studio's Qt-free models: the open workflow, a run's fold, libraries and regions.

Nothing here imports Qt or NodeGraphQt (import-linter checks it), so the models can be
tested and used without a display; the widgets and the canvas mirror their events.
"""
