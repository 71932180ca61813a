"""Run by test_library_crash.py: import a folder into a library until killed."""

import sys

from desktop.library import Library, search

root, folder = sys.argv[1], sys.argv[2]
with Library(root) as lib:
    print("ready", flush=True)
    for path in sorted(__import__("pathlib").Path(folder).glob("*.png")):
        lib.import_file(path)
        search.embed_pending(lib, batch=8)
print("finished", flush=True)
