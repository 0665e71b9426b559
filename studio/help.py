"""Help: About, the guides that ship with Weft, and a "getting started" card on an empty canvas."""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from engine import __version__, shipped
from studio import theme

ROOT = Path(__file__).resolve().parent.parent
DOCS = shipped.docs()
#: what Help offers to open, in order: (menu text, file); the guides ship with Weft, the README
#: only in a source checkout (Help lists what is there)
GUIDES = tuple(
    (text, path)
    for text, path in (
        ("&Studio Guide", DOCS / "studio.md"),
        ("&Workflow Text", DOCS / "workflows.md"),
        ("&Promises", DOCS / "promises.md"),
        ("&Import from Argo and Elyra", DOCS / "import.md"),
        ("Export to &Argo", DOCS / "argo.md"),
        ("&README", ROOT / "README.md"),
    )
    if path.is_file()
)

GETTING_STARTED = (
    "<h3>Getting started</h3>"
    "<p><b>Add a node:</b> press <b>Tab</b> or double-click the canvas and type, or drag an "
    "operator from the <i>Operators</i> palette.</p>"
    "<p><b>Wire:</b> drag from an output port (right) to an input port (left), or let the "
    "wire go on empty canvas to pick a node that fits. "
    "<i>then</i> → <i>after</i> makes a node run after another. Click a wire to give it a "
    "<i>when</i> in Properties.</p>"
    "<p><b>Run:</b> F5 (or Run in the toolbar); the run is drawn on the canvas.</p>"
    "<p><b>Open an example:</b> Help ▸ Start Page</p>"
)


def version() -> str:
    """The package's version: the one `weft --version` prints."""
    return __version__


def about_text() -> str:
    links = " · ".join(f"<a href='{QtCore.QUrl.fromLocalFile(str(p)).toString()}'>{p.name}</a>" for _t, p in GUIDES)
    guides = f"<p>Guides: {links}</p>" if links else ""
    return (
        f"<h3>Weft Studio {version()}</h3>"
        "<p>Design workflows whose shape may grow while they run, within promises; "
        "run them and watch them grow.</p>"
        f"{guides}"
        "<p>Apache-2.0 licence. Built on PySide6 (Qt) and NodeGraphQt.</p>"
    )


def show_about(parent: QtWidgets.QWidget) -> QtWidgets.QMessageBox:
    box = QtWidgets.QMessageBox(parent)
    box.setWindowTitle("About Weft Studio")
    box.setIconPixmap(QtGui.QIcon(str(shipped.icons() / "weft.svg")).pixmap(64, 64))
    box.setTextFormat(QtCore.Qt.RichText)
    box.setText(about_text())
    box.setTextInteractionFlags(QtCore.Qt.TextBrowserInteraction)
    box.setObjectName("about")
    box.open()  # window-modal, not a nested event loop
    return box


def open_guide(path: Path) -> bool:
    """Open a guide in the desktop's viewer for Markdown (or text)."""
    return QtGui.QDesktopServices.openUrl(QtCore.QUrl.fromLocalFile(str(path)))


class GettingStarted(QtWidgets.QLabel):
    """A card in the middle of an empty canvas: how to add a node, wire and run. It lets the
    pointer and drops through, and goes away once there is a node."""

    def __init__(self, viewport: QtWidgets.QWidget) -> None:
        super().__init__(viewport)
        self.setObjectName("getting-started")
        self.setText(GETTING_STARTED)
        self.setTextFormat(QtCore.Qt.RichText)
        self.setWordWrap(True)
        self.setAttribute(QtCore.Qt.WA_TransparentForMouseEvents, True)
        self.setFixedWidth(380)
        self.restyle()
        viewport.installEventFilter(self)

    def restyle(self) -> None:
        look = theme.current()
        fill = look.base if look.name == "light" else look.window
        self.setStyleSheet(
            f"QLabel#getting-started {{ background: rgba({fill[0]},{fill[1]},{fill[2]},230);"
            f" color: rgb{look.text}; border: 1px solid rgb{look.node_border}; border-radius: 8px;"
            " padding: 12px 16px; }"
        )

    def set_empty(self, empty: bool) -> None:
        self.setVisible(empty)
        if empty:
            self.adjustSize()
            self._center()
            self.raise_()

    def _center(self) -> None:
        parent = self.parentWidget()
        if parent is not None:
            self.move((parent.width() - self.width()) // 2, max(10, (parent.height() - self.height()) // 2))

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if event.type() in (QtCore.QEvent.Resize, QtCore.QEvent.Show):
            self._center()
        return False

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        self.adjustSize()
        self._center()
        super().showEvent(event)
