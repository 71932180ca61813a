"""Every action the main window offers, declared once: its menu, text, keys, tip and handler.

The menus, the Library grid's right-click menu and Help ▸ Keyboard shortcuts are all built from
this table, so a key shown in the list is the key the menu answers to (napari's app-model idea,
Krita AI Diffusion's `ui/actions.py`). A handler is a path on the window ("tile_actions.repair_seam"):
the controller that does the work, reached by name when the menus are built, so this module
imports no controller and declaring an action changes no class.

Keys are QKeySequence strings ("Ctrl+Shift+R"), or "@" and the name of one of Qt's standard keys
("@Open", "@Undo"), which each platform spells its own way.
"""

from __future__ import annotations

from dataclasses import dataclass

MENUS = ("File", "Generate", "Edit", "Library", "View", "Tile", "Help")  # the menu bar, in order
MNEMONICS = {"File": "&File", "Generate": "&Generate", "Edit": "&Edit", "Library": "&Library", "View": "&View",
             "Tile": "&Tile", "Help": "&Help"}
DOCKS = "<docks>"  # where the View menu lists the docks' own show/hide actions


@dataclass(frozen=True)
class Action:
    name: str  # the key it is kept under: window.actions[name]
    menu: str  # one of MENUS, or "" for the grid's right-click menu only
    text: str
    handler: str  # a path on the window: called with no arguments; or, with `existing`, a QAction
    keys: tuple[str, ...] = ()
    tip: str = ""
    existing: bool = False  # the handler path names a ready QAction (the undo stack's Undo and Redo)
    library_only: bool = False  # its keys act only in the Library dock (Delete edits text elsewhere)


def _a(name, menu, text, handler, keys=(), tip="", **more) -> Action:
    return Action(name, menu, text, handler, (keys,) if isinstance(keys, str) else tuple(keys), tip, **more)


SEPARATOR = None  # in ACTIONS: a separator in the menu of the action before it

ACTIONS: tuple[Action | None, ...] = (
    # File
    _a("open_image", "File", "&Open image…", "tile_view.open_image", "@Open", "View any image as a repeat"),
    _a("export_basic", "File", "Export as &basic repeat…", "tile_view.export_basic", "Ctrl+Shift+E",
       "Save the equivalent basic tile, for marketplaces that take only basic repeats"),
    _a("export_swatch", "File", "Export 3×3 &swatch…", "tile_view.export_swatch", "Ctrl+E",
       "Save a 3×3 repeat of the tile"),
    SEPARATOR,
    _a("settings", "File", "&Settings…", "show_settings", "Ctrl+,", "Where Tessera keeps things, and how it renders"),
    _a("quit", "File", "&Quit", "close", "Quit"),
    # Generate
    _a("generate", "Generate", "&Generate", "brief.request_generate", "Ctrl+Return", "Generate tiles from the brief"),
    _a("new_seed", "Generate", "New &seed", "brief.new_seed", "Ctrl+R"),
    _a("open_saved_brief", "Generate", "&Open a saved brief…", "briefs.open_saved_brief", "Ctrl+Shift+O",
       "Set the Brief to one a collection keeps (Save brief as collection… keeps one)"),
    _a("cancel_all", "Generate", "&Cancel all jobs", "cancel_all", "Ctrl+.", "Stop every running and queued job"),
    SEPARATOR,
    _a("models", "Generate", "&Models…", "briefs.show_models", "Ctrl+Shift+M",
       "Add, rename and remove the diffusion models the Brief can use"),
    _a("unload_model", "Generate", "&Unload the model", "generation.unload_model", (),
       "Give back the memory (the GPU's too) of the loaded diffusion model; the next job loads it again"),
    # Edit
    _a("undo", "Edit", "&Undo", "curation.undo_action", "@Undo",
       "Take back the last change to a status, rating, tags, a title, a collection or the trash", existing=True),
    _a("redo", "Edit", "&Redo", "curation.redo_action", ("@Redo", "Ctrl+Shift+Z", "Ctrl+Y"),
       "Make again the change Undo took back", existing=True),
    SEPARATOR,
    _a("trash", "Edit", "Move to &trash", "curation.trash_selected", ("@Delete", "Backspace"),
       "Put the selected patterns aside (Ctrl+Z, or Restore, brings them back)", library_only=True),
    _a("restore", "Edit", "Res&tore from trash", "curation.restore_selected", "Ctrl+Shift+T",
       "Bring the selected patterns back from the trash"),
    SEPARATOR,
    _a("show_trash", "Edit", "Show t&he trash", "library.show_trash", (),
       "The Library dock lists the trash (Trash in its status filter); pick a status to leave it"),
    _a("empty_trash", "Edit", "&Empty the trash…", "curation.empty_trash", (),
       "Delete what is in the trash for good, files too"),
    # Library
    _a("duplicates", "Library", "Find &duplicates…", "catalogue.show_duplicates", "Ctrl+Shift+D",
       "Pairs of patterns that look like one design, with their scores"),
    _a("compare", "Library", "&Compare the selected…", "catalogue.compare_selected", (),
       "Two to six patterns side by side, each repeating, with the curation keys (C in the grid)"),
    _a("train_lora", "Library", "Train a style &LoRA…", "training.start", "Ctrl+Shift+L",
       "Train a style LoRA from the approved tiles (or the selected ones) on the GPU"),
    SEPARATOR,
    _a("publish", "Library", "&Publish the selected", "publishing.publish_selected", "Ctrl+Shift+B",
       "Queue the selected approved patterns for the marketplace and send them"),
    _a("sync", "Library", "&Sync with the marketplace", "publishing.sync", (),
       "Send what is queued (patterns queued while offline too)"),
    _a("login", "Library", "Marketplace &login…", "publishing.login", (),
       "The marketplace's address and your API token"),
    SEPARATOR,
    _a("add_to_collection", "Library", "&Add the selected to a collection…", "curation.add_to_collection", "Ctrl+G",
       "Gather the selected patterns in a collection, new or not (Ctrl+Z undoes)"),
    _a("take_out", "Library", "&Take the selected out of this collection", "curation.take_out_of_collection",
       "Ctrl+Shift+G", "Out of the collection the Library dock shows (the patterns stay in the library)"),
    _a("delete_collection", "Library", "Delete the c&ollection…", "curation.delete_collection", (),
       "Delete the collection the Library dock shows; its patterns stay in the library"),
    _a("save_brief", "Library", "Save the &brief as a collection…", "briefs.save_brief_as_collection", (),
       "A new collection that keeps the Brief, to open again later (Generate ▸ Open a saved brief…)"),
    # View
    _a("docks", "View", DOCKS, ""),
    SEPARATOR,
    _a("reset_layout", "View", "&Reset layout", "reset_layout", (), "Every dock back where it started"),
    # Tile
    _a("repair_seam", "Tile", "Repair &seam", "tile_actions.repair_seam", "Ctrl+Shift+R",
       "Mend the seams of the selected tile through its repeat"),
    _a("flatten_lighting", "Tile", "Even out the &lighting", "tile_actions.flatten_lighting", "Ctrl+Alt+L",
       "Divide out light that changes across the tile, so a wall of it shows no light and dark bands"),
    _a("recolour", "Tile", "&Recolour to the brief's palette", "tile_actions.recolour", "Ctrl+Shift+C",
       "Map every pixel to the nearest palette colour (CIELAB)"),
    _a("reduce", "Tile", "Reduce to spot &colours…", "tile_actions.reduce", "Ctrl+Shift+K",
       "Reduce to N colours for screen printing, with one separation per ink"),
    _a("colourways", "Tile", "Colour&ways…", "tile_actions.colourways", "Ctrl+Shift+W",
       "The design in other palettes, light and dark kept, gathered in a collection"),
    _a("coordinates", "Tile", "Coor&dinates…", "tile_actions.coordinates", "Ctrl+Shift+J",
       "Plainer patterns in the tile's own inks (stripe, spot, gingham, ditsy, texture, geometric) to sell "
       "beside it, gathered with it in a collection"),
    _a("variations", "Tile", "&Variations…", "tile_actions.variations", "Ctrl+Shift+V",
       "Re-render the selected tile with the Brief's diffusion model, keeping its repeat"),
    _a("upscale", "Tile", "&Upscale…", "tile_actions.upscale", "Ctrl+Shift+U",
       "Enlarge seamlessly through the repeat (refined by the Brief's diffusion model, if any)"),
    _a("kaleidoscope", "Tile", "&Kaleidoscope from this", "tile_actions.kaleidoscope", "Ctrl+K",
       "Fold a window of the selected image by mirrors into new seamless tiles (the Brief's Kaleidoscope "
       "style: change its options and generate again for more)"),
    SEPARATOR,
    _a("approve", "Tile", "&Approve", "tile_actions.approve", "Ctrl+Shift+P", "Approve the selected patterns"),
    _a("reject", "Tile", "Re&ject", "tile_actions.reject", "Ctrl+Shift+X", "Reject the selected patterns"),
    SEPARATOR,
    _a("export_print_ready", "Tile", "Export &print-ready…", "tile_actions.export_print_ready", "Ctrl+Shift+S",
       "PNG or TIFF at the print DPI, sRGB profile embedded, metadata kept"),
    _a("sheet", "Tile", "Presentation s&heet…", "tile_actions.export_sheet", "Ctrl+Shift+H",
       "The selected patterns side by side, each as a 2x2 repeat over its palette and title"),
    _a("mockups", "Tile", "&Mockups…", "tile_actions.mockups", "Ctrl+M",
       "The tile at its printed size on a wall, fabric, a cushion and a measured swatch"),
    # Help
    _a("shortcuts", "Help", "&Keyboard shortcuts", "show_shortcuts", "@HelpContents", "Every key the window answers to"),
    _a("about", "Help", "&About Tessera", "show_about", (), "The version, where things are kept, the GPU"),
    _a("log_folder", "Help", "Open &log folder", "open_log_folder", (), "Where Tessera writes what went wrong"),
    _a("diagnostics", "Help", "&Diagnostics…", "show_diagnostics", (),
       "Check this machine (packages, Qt, GPU and PyTorch, disk, library, weights, models, login): each problem "
       "with its fix, copied in one click for a bug report"),
    # the grid's right-click menu only (its keys are the grid's own: P, X, U; see GRID_KEYS)
    _a("grid_approve", "", "Approve\tP", "tile_actions.approve"),
    _a("grid_reject", "", "Reject\tX", "tile_actions.reject"),
    _a("grid_unflag", "", "Unflag\tU", "tile_actions.unflag"),
    _a("more_like_this", "", "More like this", "library.more_like_selected"),
)

# the Library grid's right-click menu: action names, "-" a separator
GRID_MENU = ("grid_approve", "grid_reject", "grid_unflag", "more_like_this", "-", "trash", "restore", "-",
             "add_to_collection", "take_out")


def declared() -> list[Action]:
    return [a for a in ACTIONS if a is not None]


def by_name(name: str) -> Action:
    return next(a for a in declared() if a.name == name)


def key_sequences(action: Action) -> list:
    """The QKeySequences an action answers to, each once (a standard key may be one of the others)."""
    from PySide6.QtGui import QKeySequence

    seqs = [QKeySequence(getattr(QKeySequence.StandardKey, key[1:])) if key.startswith("@") else QKeySequence(key)
            for key in action.keys]
    unique = {}
    for seq in seqs:
        if seq.toString():  # (a standard key this platform has no binding for is left out)
            unique.setdefault(seq.toString(), seq)
    return list(unique.values())


def resolve(root, path: str):
    """The object at a dotted path on `root` ("tile_actions.repair_seam")."""
    target = root
    for part in path.split("."):
        target = getattr(target, part)
    return target


def build(window, docks: list | None = None) -> dict:
    """The menu bar and the grid's right-click menu, from ACTIONS; returns the QActions by name.
    `window` holds the handlers; `docks` are the View menu's show/hide actions."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QAction

    built: dict[str, QAction] = {}
    menus = {name: window.menuBar().addMenu(MNEMONICS[name]) for name in MENUS}
    last_menu = None
    for declared_action in ACTIONS:
        if declared_action is None:
            if last_menu is not None:
                last_menu.addSeparator()
            continue
        spec = declared_action
        menu = menus.get(spec.menu)
        last_menu = menu
        if spec.text == DOCKS:
            for dock_action in docks or []:
                menu.addAction(dock_action)
            continue
        if spec.existing:
            action = resolve(window, spec.handler)
        else:
            action = QAction(spec.text, window)
            handler = resolve(window, spec.handler)
            action.triggered.connect(lambda checked=False, handler=handler: handler())
        keys = key_sequences(spec)
        if keys:
            action.setShortcuts(keys)
        action.setStatusTip(spec.tip)
        if spec.library_only:  # the Library dock's own: elsewhere these keys edit text
            action.setShortcutContext(Qt.WidgetWithChildrenShortcut)
            window.library.addAction(action)
        if menu is not None:
            menu.addAction(action)
        built[spec.name] = action
    grid = window.library.list
    grid.setContextMenuPolicy(Qt.ActionsContextMenu)
    for name in GRID_MENU:
        if name == "-":
            separator = QAction(grid)
            separator.setSeparator(True)
            grid.addAction(separator)
        else:
            grid.addAction(built[name])
    return built


def shortcut_rows() -> list[tuple[str, str, str]]:
    """(where, keys, what it does) for every declared action with keys, in the menus' order."""
    from PySide6.QtGui import QKeySequence

    rows = []
    for spec in declared():
        keys = key_sequences(spec)
        if spec.menu and keys:
            text = ", ".join(k.toString(QKeySequence.NativeText) for k in keys)
            where = spec.menu + (" (in the Library dock)" if spec.library_only else "")
            rows.append((where, text, spec.tip or spec.text.replace("&", "").removesuffix("…")))
    order = {name: i for i, name in enumerate(MENUS)}
    return sorted(rows, key=lambda row: order[row[0].split(" ")[0]])
