"""Curating a selection at once (P on 1,000 patterns, and its undo), against doing it one pattern
at a time, in the same run, on a library of 5,000 patterns with their index rows:

- SQLite: Library.update_many (one transaction) against Library.update per pattern (one
  transaction, and one fsync, each);
- the vector index: update_fields_many (one read and one merge per table) against
  update_fields per pattern (one LanceDB UPDATE, a commit of its own, each);
- the undo: Library.set_curation of the 1,000 states read before, in one transaction, and the
  index's fields after it, as the window does.

    .venv/bin/python benchmarks/curation.py [--patterns 5000] [--selection 1000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from timing import machine  # noqa: E402


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patterns", type=int, default=5000)
    parser.add_argument("--selection", type=int, default=1000)
    args = parser.parse_args()
    from desktop.library import Library, search
    from desktop.library.descriptor import DIM

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as root, Library(root) as lib:
        n, k = args.patterns, args.selection
        ids = lib._insert_rows([({"width": 8, "height": 8}, f"{i:064x}") for i in range(n)],
                               [f"x/{i}.png" for i in range(n)])
        index = search.index(lib)
        for start in range(0, n, 1000):
            index.upsert([{"id": i, "vector": rng.random(DIM).astype(np.float32), "hashes": [1, 2, 3],
                           "status": "draft", "rating": 0, "tags": [f"tag{i % 7}"]} for i in ids[start:start + 1000]])
        first, second = ids[:k], ids[k:2 * k]
        before = lib.curation(first)

        one_by_one_sql = timed(lambda: [lib.update(i, status="rejected") for i in second])
        at_once_sql = timed(lambda: lib.update_many(first, status="approved"))
        sample = second[:100]  # one LanceDB UPDATE each is slow: timed on 100, given per pattern
        one_by_one_index = timed(lambda: [index.update_fields(i, "rejected", 0, ["x"]) for i in sample]) / len(sample)
        at_once_index = timed(lambda: search.refresh_fields(lib, first)) / k
        undo = timed(lambda: search.refresh_fields(lib, lib.set_curation(before).changed))
        hits = index.search(rng.random(DIM).astype(np.float32), n, status="approved")
        assert lib.curation(first) == before and not hits, "the undo did not put everything back"
        print(json.dumps({
            "benchmark": "curation", "machine": machine(), "patterns": n, "selection": k,
            "sqlite_ms_per_pattern": {"one_by_one": round(one_by_one_sql / k * 1000, 3),
                                      "update_many": round(at_once_sql / k * 1000, 3),
                                      "ratio": round(at_once_sql / one_by_one_sql, 4)},
            "index_ms_per_pattern": {"one_by_one": round(one_by_one_index * 1000, 3),
                                     "update_fields_many": round(at_once_index * 1000, 3),
                                     "ratio": round(at_once_index / one_by_one_index, 4)},
            "selection_s": {"one_by_one": round(one_by_one_sql + one_by_one_index * k, 2),
                            "at_once": round(at_once_sql + at_once_index * k, 3)},
            "undo_set_curation_s": round(undo, 3),
        }, indent=1))


if __name__ == "__main__":
    main()
