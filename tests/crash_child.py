"""Run by test_library_crash.py: import a folder into a library until killed.

It imports the way the window and the CLI do (`search.import_into`: decode threads, files
stored 16 to a transaction, the index fed after each batch); files already in the library are
skipped as exact duplicates, so each run carries on where the last one was killed. It says
"writing" once its first file is on disk, so the test can aim its kill at the write window.
"""

import sys
import threading

import numpy as np

from desktop.library import Library, search

root, folder = sys.argv[1], sys.argv[2]
first_write = threading.Lock()
store = Library._store


def store_and_say(self, *args, **kwargs):
    out = store(self, *args, **kwargs)
    if first_write.acquire(blocking=False):  # once: the lock is never released
        print("writing", flush=True)
    return out


Library._store = store_and_say
with Library(root) as lib:
    search.look_of(np.zeros((8, 8, 3), np.uint8))  # the one-time imports, as in a running app
    search.index(lib)
    print("ready", flush=True)
    search.import_into(lib, [folder])
print("finished", flush=True)
