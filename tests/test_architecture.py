"""The structure holds: no import cycle anywhere in `desktop` (the layers contract in pyproject.toml
says which way imports go; this says no module reaches back up through another), and the window's
helpers reach it through the Protocols in ui/host.py, not by importing it."""

import grimp


def _graph():
    return grimp.build_graph("desktop", cache_dir=None)  # TYPE_CHECKING imports count too


def test_no_module_of_desktop_imports_itself_back_through_another():
    graph = _graph()
    cycles = sorted({tuple(sorted((a, b))) for a in graph.modules for b in graph.find_modules_directly_imported_by(a)
                     if graph.chain_exists(importer=b, imported=a)})
    assert cycles == []


def test_only_the_app_imports_the_main_window():
    graph = _graph()
    importers = graph.find_modules_that_directly_import("desktop.ui.main_window")
    assert importers <= {"desktop.ui.app"}, importers
