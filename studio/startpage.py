"""The start page: what the studio shows when it starts with no file.

New workflow, Open…, the recent files, and the examples Weft ships, each with its one-line
description and a picture of its graph. Opening an example opens a copy in the user's home
(``HOME/examples``, made once; a file already there is kept as the user left it), so saving
never writes into the installation. The pictures are drawn by the studio itself from the
loaded workflow (no GraphViz needed) after the page is shown, one per event-loop turn, and
cached as PNG in ``HOME/cache/start-page`` under the hash of the example's text.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import yaml
from PySide6 import QtCore, QtGui, QtWidgets

from engine import shipped
from engine.workflow.loader import load_file
from studio import help, theme

THUMB = QtCore.QSize(176, 104)
ROLE_PATH = QtCore.Qt.UserRole
#: how long a description may be on one line
MAX_DESCRIPTION = 110


def app_icon() -> QtGui.QIcon:
    return QtGui.QIcon(str(shipped.icons() / "weft.svg"))


def examples() -> list[Path]:
    """The shipped examples, the promise-breaking demonstrations last."""
    found = sorted(shipped.examples().glob("*.weft.yaml"))
    return sorted(found, key=lambda p: (p.name.startswith("breaker-"), p.name))


def describe(path: Path) -> str:
    """The example's ``description``, on one line; empty if it has none or cannot be read."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except Exception:  # noqa: BLE001 - a picture-book entry: an unreadable example just has no text
        return ""
    text = data.get("description") if isinstance(data, dict) else None
    if not isinstance(text, str):
        return ""
    line = " ".join(text.split())
    return line if len(line) <= MAX_DESCRIPTION else line[: MAX_DESCRIPTION - 1].rstrip() + "…"


def copy_examples(home: Path) -> Path:
    """``HOME/examples``: the shipped examples, copied file by file where missing."""
    source, target = shipped.examples(), home / "examples"
    for path in source.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            dest = target / path.relative_to(source)
            if not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, dest)
    return target


def thumbnail(example: Path, cache: Path) -> QtGui.QPixmap | None:
    """A picture of ``example``'s graph, from the cache or drawn now (and cached)."""
    try:
        digest = hashlib.sha256(example.read_bytes()).hexdigest()[:16]
    except OSError:
        return None
    cached = cache / f"{example.name.removesuffix('.weft.yaml')}-{digest}.png"
    if cached.is_file():
        pixmap = QtGui.QPixmap(str(cached))
        if not pixmap.isNull():
            return pixmap
    image = draw_graph(example)
    if image is None:
        return None
    try:
        cache.mkdir(parents=True, exist_ok=True)
        image.save(str(cached), "PNG")
    except OSError:
        pass  # a read-only home still shows the picture
    return QtGui.QPixmap.fromImage(image)


def draw_graph(example: Path) -> QtGui.QImage | None:
    """The example's nodes in layers (each after its deepest source), its edges as lines."""
    try:
        workflow = load_file(example).workflow
    except Exception:  # noqa: BLE001 - an example that does not load has no picture
        return None
    ids = [n.id for n in workflow.nodes]
    if not ids:
        return None
    sources: dict[str, set[str]] = {i: set() for i in ids}
    for edge in workflow.edges:
        if edge.source in sources and edge.target in sources and edge.source != edge.target:
            sources[edge.target].add(edge.source)
    layer: dict[str, int] = {}
    for _ in range(len(ids)):  # longest path, bounded: a cycle (a loop) stops growing
        for i in ids:
            layer[i] = min(len(ids), 1 + max((layer.get(s, 0) for s in sources[i]), default=-1))
    columns: dict[int, list[str]] = {}
    for i in ids:
        columns.setdefault(layer[i], []).append(i)
    look = theme.current()
    image = QtGui.QImage(THUMB, QtGui.QImage.Format_ARGB32_Premultiplied)
    image.fill(theme.color(look.base if look.name == "light" else look.window))
    painter = QtGui.QPainter(image)
    painter.setRenderHint(QtGui.QPainter.Antialiasing)
    width, height = THUMB.width(), THUMB.height()
    ordered = sorted(columns)
    box_w = min(40.0, (width - 8) / len(ordered) - 6)
    where: dict[str, QtCore.QRectF] = {}
    for x_index, col in enumerate(ordered):
        members = columns[col]
        box_h = min(16.0, (height - 8) / len(members) - 4)
        x = 4 + (x_index + 0.5) * (width - 8) / len(ordered) - box_w / 2
        for y_index, node in enumerate(members):
            y = 4 + (y_index + 0.5) * (height - 8) / len(members) - box_h / 2
            where[node] = QtCore.QRectF(x, y, box_w, box_h)
    painter.setPen(QtGui.QPen(theme.color(look.node_border), 1.2))
    for edge in workflow.edges:
        if edge.source in where and edge.target in where:
            a, b = where[edge.source], where[edge.target]
            painter.drawLine(QtCore.QPointF(a.right(), a.center().y()), QtCore.QPointF(b.left(), b.center().y()))
    colors = {n.id: (n.style or {}).get("color") for n in workflow.nodes}
    for node, rect in where.items():
        fill = QtGui.QColor(colors[node]) if isinstance(colors[node], str) else QtGui.QColor("#4a90c2")
        painter.setBrush(fill if fill.isValid() else QtGui.QColor("#4a90c2"))
        painter.drawRoundedRect(rect, 3, 3)
    painter.end()
    return image


class StartPage(QtWidgets.QWidget):
    """New, Open, recent files and the examples; says what was chosen, opens nothing itself."""

    new_requested = QtCore.Signal()
    open_requested = QtCore.Signal()
    #: a workflow file to open (a recent one, or the copy of an example)
    chosen = QtCore.Signal(str)

    def __init__(self, recent: Callable[[], list[str]], home: Path, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("start-page")
        self.home = home
        self.cache = home / "cache" / "start-page"
        self._recent = recent
        self._next = 0  # the next example row to draw
        self._drawing = QtCore.QTimer(self, singleShot=True, interval=0)  # dies with the page
        self._drawing.timeout.connect(self._draw_next)

        title = QtWidgets.QLabel(f"<h1>Weft Studio {help.version()}</h1>")
        title.setObjectName("start-title")
        tagline = QtWidgets.QLabel("Design workflows whose shape may grow while they run, within promises.")
        logo = QtWidgets.QLabel()
        logo.setPixmap(app_icon().pixmap(64, 64))
        new = QtWidgets.QPushButton("New workflow")
        new.setObjectName("start-new")
        new.clicked.connect(self.new_requested)
        opener = QtWidgets.QPushButton("Open…")
        opener.setObjectName("start-open")
        opener.clicked.connect(self.open_requested)

        self.recent = QtWidgets.QListWidget()
        self.recent.setObjectName("start-recent")
        self.recent.itemActivated.connect(self._activated)
        self.recent.itemClicked.connect(self._activated)
        self.examples = QtWidgets.QListWidget()
        self.examples.setObjectName("start-examples")
        self.examples.setIconSize(THUMB)
        self.examples.setSpacing(4)
        self.examples.setWordWrap(True)
        self.examples.itemActivated.connect(self._example)
        self.examples.itemClicked.connect(self._example)
        placeholder = app_icon().pixmap(THUMB.height(), THUMB.height())
        for path in examples():
            name = path.name.removesuffix(".weft.yaml")
            item = QtWidgets.QListWidgetItem(QtGui.QIcon(placeholder), f"{name}\n{describe(path)}".rstrip())
            item.setData(ROLE_PATH, str(path))
            item.setToolTip(describe(path) or name)
            self.examples.addItem(item)

        head = QtWidgets.QHBoxLayout()
        head.addWidget(logo)
        words = QtWidgets.QVBoxLayout()
        words.addWidget(title)
        words.addWidget(tagline)
        head.addLayout(words, 1)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(new)
        buttons.addWidget(opener)
        buttons.addStretch(1)
        left = QtWidgets.QVBoxLayout()
        left.addWidget(QtWidgets.QLabel("<b>Recent files</b>"))
        left.addWidget(self.recent, 1)
        right = QtWidgets.QVBoxLayout()
        right.addWidget(QtWidgets.QLabel("<b>Examples</b> (open a copy in your Weft home)"))
        right.addWidget(self.examples, 1)
        columns = QtWidgets.QHBoxLayout()
        columns.addLayout(left, 2)
        columns.addLayout(right, 3)
        page = QtWidgets.QVBoxLayout(self)
        page.setContentsMargins(32, 24, 32, 24)
        page.addLayout(head)
        page.addLayout(buttons)
        page.addLayout(columns, 1)
        self.refresh()

    def refresh(self) -> None:
        """Read the recent files again (they change as files are opened and saved)."""
        self.recent.clear()
        for path in self._recent():
            item = QtWidgets.QListWidgetItem(f"{Path(path).name}  —  {Path(path).parent}")
            item.setData(ROLE_PATH, path)
            item.setToolTip(path)
            if not Path(path).is_file():
                item.setFlags(item.flags() & ~QtCore.Qt.ItemIsEnabled)
            self.recent.addItem(item)
        if not self.recent.count():
            empty = QtWidgets.QListWidgetItem("No recent files yet")
            empty.setFlags(QtCore.Qt.NoItemFlags)
            self.recent.addItem(empty)

    def showEvent(self, event: QtGui.QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()
        self._drawing.start()

    def _draw_next(self) -> None:
        """One example's picture per event-loop turn: the page stays responsive while they come."""
        if self._next >= self.examples.count():
            return
        item = self.examples.item(self._next)
        self._next += 1
        pixmap = thumbnail(Path(item.data(ROLE_PATH)), self.cache)
        if pixmap is not None:
            item.setIcon(QtGui.QIcon(pixmap))
        self._drawing.start()

    def pictures_done(self) -> bool:
        return self._next >= self.examples.count()

    def _activated(self, item: QtWidgets.QListWidgetItem) -> None:
        path = item.data(ROLE_PATH)
        if path:
            self.chosen.emit(path)

    def _example(self, item: QtWidgets.QListWidgetItem) -> None:
        shipped_path = Path(item.data(ROLE_PATH))
        try:
            copy = copy_examples(self.home) / shipped_path.name
        except OSError:
            copy = shipped_path  # a home that cannot be written: open the shipped file itself
        self.chosen.emit(str(copy))
