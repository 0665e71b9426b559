"""Entry point of ``weft-studio``: ``weft-studio [FILE]``, ``weft-studio --run RUN``.

Qt is imported inside ``main`` only, so importing this module (or the engine) never needs a
display or Qt at all.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from engine.home import default_home

_IMPORTED = time.time()
ORGANIZATION = "Weft"
APPLICATION = "Weft Studio"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="weft-studio", description="Design, run and watch Weft workflows.")
    parser.add_argument("file", nargs="?", help="a workflow file (*.weft.yaml) to open")
    parser.add_argument("--run", metavar="RUN", help="open a past run (id, unique prefix, or 'last') and replay it")
    parser.add_argument("--home", metavar="DIR", help="where runs live (default: $WEFT_HOME or the user data folder)")
    parser.add_argument("--library", metavar="DIR", help="the user's operator library folder (default: HOME/operators)")
    parser.add_argument("--settings", metavar="FILE", help=argparse.SUPPRESS)  # an INI file instead of the user's
    parser.add_argument("--screenshot", metavar="PNG", help=argparse.SUPPRESS)  # run FILE, save the window, quit
    parser.add_argument("--timeout", type=float, default=180.0, help=argparse.SUPPRESS)
    # print "drawn SECONDS" once the window has painted, and quit (cold start measurements)
    parser.add_argument("--exit-when-drawn", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("QT_PREFERRED_BINDING", "PySide6")
    from PySide6 import QtCore, QtWidgets

    from engine.errors import InvalidInput
    from studio.mainwindow import MainWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([sys.argv[0]])
    if app.platformName() == "offscreen":  # its clipboard crashes the process at exit while it holds data
        app.aboutToQuit.connect(app.clipboard().clear)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    from engine import __version__
    from studio.startpage import app_icon

    app.setApplicationVersion(__version__)
    app.setWindowIcon(app_icon())
    app.setDesktopFileName("weft-studio")  # the .desktop entry's name: its icon in docks and task bars
    settings = (
        QtCore.QSettings(args.settings, QtCore.QSettings.IniFormat)
        if args.settings
        else QtCore.QSettings(ORGANIZATION, APPLICATION)
    )
    home = Path(args.home).expanduser() if args.home else default_home()
    library = Path(args.library).expanduser() if args.library else home / "operators"
    # workflows may import from the user's library (the loader confines imports to the workflow's
    # folder and the library folders); runs in child processes inherit the same list
    os.environ["WEFT_LIBRARY_PATH"] = os.pathsep.join(
        filter(None, [str(library.resolve()), os.environ.get("WEFT_LIBRARY_PATH")])
    )
    window = MainWindow(settings, home, library)
    if args.exit_when_drawn:
        _exit_when_drawn(window)
    window.show()
    if args.file:
        if not window.open(args.file, quiet=True):
            print(f"weft-studio: {window.last_error}", file=sys.stderr)
    elif not args.run:
        window.show_start_page()
    if args.run:
        try:
            window.history.open(args.run)
        except InvalidInput as exc:
            print(f"weft-studio: {exc}", file=sys.stderr)
            window.close()
            return 2
    if args.screenshot:
        return _screenshot(app, window, Path(args.screenshot), args.timeout)
    return app.exec()


def _exit_when_drawn(window: Any) -> None:
    """After the window's first paint: print the seconds since the process started, quit."""
    from PySide6 import QtCore, QtWidgets

    class FirstPaint(QtCore.QObject):
        def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
            if (
                event.type() == QtCore.QEvent.Paint
                and not getattr(self, "seen", False)
                and isinstance(watched, QtWidgets.QWidget)
                and watched.window() is window
            ):
                self.seen = True
                QtCore.QTimer.singleShot(0, self.done)
            return False

        def done(self) -> None:
            print(f"drawn {time.time() - _process_start():.3f}", flush=True)
            window.undo_stack.setClean()
            QtWidgets.QApplication.quit()

    watcher = FirstPaint(window)
    QtWidgets.QApplication.instance().installEventFilter(watcher)


def _process_start() -> float:
    """When this process started (Linux: from /proc; elsewhere: when this module was imported)."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = next(
            float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime")
        )
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return _IMPORTED


def _screenshot(app: object, window: object, path: Path, timeout: float) -> int:
    """Run the open workflow to its end, then save a picture of the whole window and quit.

    Used by the test that looks at a real window under Xvfb; the exit code is the run's.
    """
    from PySide6 import QtCore, QtWidgets

    outcome = {"code": 1}

    def shoot(state: str | None) -> None:
        window.canvas.run_layer.flush()
        model = window.runs.model
        created = [n for n, run in model.nodes.items() if run.created_by] if model is not None else []
        if created:  # show what a created node did: its log and outputs in the run panel
            window.canvas.select(created[:1])
            run = model.nodes[created[0]]
            if run.outputs and not model.logs.get(run.id):
                window.run_panel.tabs.setCurrentWidget(window.run_panel.outputs)
        window.canvas.fit()
        QtWidgets.QApplication.processEvents()
        screen = window.screen()
        picture = screen.grabWindow(window.winId()) if screen is not None else window.grab()
        if picture.isNull():
            picture = window.grab()
        path.parent.mkdir(parents=True, exist_ok=True)
        picture.save(str(path))
        outcome["code"] = (
            0 if state in (None, "succeeded") else {"failed": 1, "broken": 3, "cancelled": 130}.get(state, 1)
        )
        window.undo_stack.setClean()
        window.close()
        QtWidgets.QApplication.quit()

    window.runs.finished.connect(lambda state: QtCore.QTimer.singleShot(400, lambda: shoot(state)))
    QtCore.QTimer.singleShot(int(timeout * 1000), lambda: shoot("timed out"))

    def start() -> None:
        if window.document.nodes and window.past_run is None:
            if window.runs.start() is None:
                shoot("failed")
        else:
            QtCore.QTimer.singleShot(500, lambda: shoot(None))

    QtCore.QTimer.singleShot(300, start)
    app.exec()
    return outcome["code"]


if __name__ == "__main__":
    raise SystemExit(main())
