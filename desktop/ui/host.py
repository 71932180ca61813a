"""What the window's helpers may use of it, said as Protocols: the Tile menu's handlers, training
and the Models dialog are given the window, typed as one of these, so they reach only what is
named here (and import no main_window: no import cycle)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class JobsHost(Protocol):
    """Starting jobs and hearing of them: the Models dialog's needs."""

    paths: Any  # config.Paths
    settings: Any  # config.Settings
    queue: Any  # jobs.JobQueue
    bridge: Any  # ui.bridge.JobBridge
    submit: Callable[..., Any]


class WindowHost(JobsHost, Protocol):
    """The panels and the controllers: what the Tile menu's and training's handlers use."""

    brief: Any  # BriefPanel
    library: Any  # LibraryPanel
    preview: Any  # PreviewPanel
    catalogue: Any  # LibraryController
    tile_view: Any  # TileView
    generation: Any  # GenerationController
    curation: Any  # Curation
    renderer: Any  # WorkerProcess
    ui_state: Any  # QSettings

    def statusBar(self) -> Any: ...  # (Qt's name)
