"""The 1,000-kill version of tests/test_library_crash.py: SIGKILL an importer at random points,
then check quick_check, files and index ids. Prints JSON with how many kills were survived.

    python benchmarks/crash_import.py [--kills 1000]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from test_library_crash import kill_once, make_files  # noqa: E402

from desktop.library import Library, search  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    failures = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder, root = Path(tmp) / "incoming", Path(tmp) / "lib"
        make_files(folder, n=1500)
        for k in range(args.kills):
            kill_once(root, folder, rng)
            with Library(root) as lib:
                report = lib.check(repair=True)
                search.reconcile(lib)
                with lib.engine.connect() as conn:
                    truth = set(conn.exec_driver_sql("SELECT id FROM pattern").scalars())
                ok = report["quick_check"] == "ok" and not report["missing_files"] and search.index(lib).ids() == truth
                if not ok:
                    failures.append({"kill": k, "report": report})
    print(json.dumps({"benchmark": "crash_import", "kills": args.kills, "failures": failures,
                      "survived": args.kills - len(failures), "seconds": round(time.perf_counter() - start, 1)},
                     indent=2))


if __name__ == "__main__":
    main()
