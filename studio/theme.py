"""The studio's two looks, dark and light: one set of colours for the panels and the canvas.

A theme styles both at once — Qt's palette for the panels and menus, and the canvas's
background, grid, node bodies and text — so the window never mixes a light panel with a dark
canvas. ``current()`` is what the canvas items read when they paint; ``apply`` switches the
application and asks the canvas to draw again.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6 import QtGui, QtWidgets

RGB = tuple[int, int, int]
RGBA = tuple[int, int, int, int]


@dataclass(frozen=True)
class Theme:
    name: str
    title: str
    # panels (Qt's palette)
    window: RGB
    base: RGB
    alternate: RGB
    text: RGB
    muted: RGB
    button: RGB
    highlight: RGB
    # canvas
    canvas: RGB
    grid: RGB
    dotted_grid: bool
    node_body: RGB
    node_border: RGB
    node_header: RGBA  # the header band of a node without a colour of its own
    node_title: RGB
    node_text: RGB  # port names
    node_footer: RGB  # the state or detail line
    node_where: RGB  # where it runs
    after_wire: RGBA  # runs-after wires
    label_fill: RGBA  # the `when` label on a wire
    label_text: RGB
    ghost_fill: RGBA


DARK = Theme(
    name="dark",
    title="Dark",
    window=(45, 48, 54),
    base=(33, 36, 41),
    alternate=(40, 43, 49),
    text=(225, 227, 230),
    muted=(140, 145, 152),
    button=(52, 56, 63),
    highlight=(64, 128, 200),
    canvas=(30, 32, 36),
    grid=(40, 43, 48),
    dotted_grid=False,
    node_body=(46, 50, 58),
    node_border=(70, 76, 86),
    node_header=(0, 0, 0, 70),
    node_title=(238, 238, 238),
    node_text=(215, 218, 222),
    node_footer=(200, 203, 208),
    node_where=(150, 156, 165),
    after_wire=(150, 155, 165, 255),
    label_fill=(58, 54, 30, 235),
    label_text=(240, 225, 140),
    ghost_fill=(60, 60, 60, 90),
)

LIGHT = Theme(
    name="light",
    title="Light",
    window=(236, 237, 240),
    base=(255, 255, 255),
    alternate=(246, 247, 249),
    text=(30, 32, 36),
    muted=(110, 115, 122),
    button=(228, 230, 234),
    highlight=(48, 110, 200),
    canvas=(247, 248, 250),
    grid=(200, 204, 210),
    dotted_grid=True,
    node_body=(255, 255, 255),
    node_border=(178, 184, 192),
    node_header=(0, 0, 0, 18),
    node_title=(28, 30, 34),
    node_text=(50, 54, 60),
    node_footer=(60, 64, 70),
    node_where=(105, 110, 118),
    after_wire=(120, 126, 136, 255),
    label_fill=(255, 244, 200, 245),
    label_text=(90, 70, 0),
    ghost_fill=(200, 200, 200, 90),
)

THEMES: dict[str, Theme] = {t.name: t for t in (DARK, LIGHT)}
_current: list[Theme] = [DARK]


def current() -> Theme:
    return _current[0]


def theme_named(name: object) -> Theme:
    return THEMES.get(str(name), DARK)


def color(rgb: tuple[int, ...]) -> QtGui.QColor:
    return QtGui.QColor(*rgb)


def palette(theme: Theme) -> QtGui.QPalette:
    """Qt's palette for the panels, menus and dialogs of ``theme``."""
    pal = QtGui.QPalette()
    role = QtGui.QPalette.ColorRole
    pairs = {
        role.Window: theme.window,
        role.WindowText: theme.text,
        role.Base: theme.base,
        role.AlternateBase: theme.alternate,
        role.Text: theme.text,
        role.Button: theme.button,
        role.ButtonText: theme.text,
        role.ToolTipBase: theme.base,
        role.ToolTipText: theme.text,
        role.Highlight: theme.highlight,
        role.HighlightedText: (255, 255, 255),
        role.PlaceholderText: theme.muted,
        role.Link: theme.highlight,
        role.BrightText: (255, 90, 90),
    }
    for r, rgb in pairs.items():
        pal.setColor(r, color(rgb))
    for r in (role.WindowText, role.Text, role.ButtonText):
        pal.setColor(QtGui.QPalette.Disabled, r, color(theme.muted))
    return pal


def apply(theme: Theme, app: QtWidgets.QApplication | None = None) -> None:
    """Make ``theme`` the look of the application (panels) and of every canvas drawn from now on;
    canvases already shown are restyled by their owner (``Canvas.apply_theme``)."""
    _current[0] = theme
    app = app or QtWidgets.QApplication.instance()  # type: ignore[assignment]
    if app is None:
        return
    if app.style().name().lower() != "fusion":
        app.setStyle("Fusion")  # the one style that follows a palette everywhere
    app.setPalette(palette(theme))
