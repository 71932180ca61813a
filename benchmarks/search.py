"""Vector search: LanceDB (exact scan, and the app's IVF-HNSW-SQ index with refinement, queried the
app's way through pylance and, for comparison, through LanceDB's query builder) against numpy.

Synthetic unit vectors (512-d, clustered like real embeddings), N = 100k and 1M by default.
For each N: p50 query latency of numpy's exact search (the baseline, same run), LanceDB's
exact scan, and LanceDB's ANN index with refine; ratios to numpy, and recall@10 of the ANN
against the exact answer. Prints JSON.

    python benchmarks/search.py [--sizes 100000 1000000] [--queries 50]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time

import numpy as np

DIM = 512


def synthetic(n: int, rng, centres: np.ndarray | None = None) -> np.ndarray:
    """Two-level clusters (like families of designs and their variants), unit length."""
    if centres is None:
        centres = CENTRES
    families = centres[rng.integers(0, len(centres), n)]
    x = families + 0.35 * rng.standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


CENTRES = np.random.default_rng(1).standard_normal((4096, DIM)).astype(np.float32)


def p50_ms(fn, queries) -> float:
    times = []
    for q in queries:
        start = time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def run(n: int, n_queries: int, rng) -> dict:
    import lancedb
    import pyarrow as pa

    data = synthetic(n, rng)
    queries = synthetic(n_queries, rng)
    exact = [set(np.argpartition(-(data @ q), 10)[:10].tolist()) for q in queries]
    numpy_ms = p50_ms(lambda q: np.argpartition(-(data @ q), 10)[:10], queries)
    with tempfile.TemporaryDirectory() as folder:
        db = lancedb.connect(folder)
        table = db.create_table("t", pa.table({"id": pa.array(np.arange(n), pa.int64()),
                                               "vector": pa.FixedSizeListArray.from_arrays(
                                                   pa.array(data.ravel()), DIM)}))
        scan_ms = p50_ms(lambda q: table.search(q).limit(10).to_list(), queries[:10])
        from lancedb.index import IvfHnswSq

        from desktop.library.vector_index import EF, REFINE, _partitions, ann_query  # the app's own query

        partitions = _partitions(n)
        start = time.perf_counter()
        table.create_index("vector", config=IvfHnswSq(distance_type="l2", num_partitions=partitions))
        build_s = time.perf_counter() - start
        dataset = table.to_lance()

        def search(q):
            return set(ann_query(dataset, q, 10).column("id").to_pylist())

        def search_lancedb(q):  # the same query through LanceDB's own builder, for comparison
            hits = table.search(q).nprobes(partitions).refine_factor(REFINE).ef(max(EF, 10 * REFINE)).limit(10)
            return set(hits.to_arrow().column("id").to_pylist())

        lancedb_ms = p50_ms(search_lancedb, queries)
        ann_ms = p50_ms(search, queries)
        recall = np.mean([len(search(q) & truth) / 10 for q, truth in zip(queries, exact)])
    return {"n": n, "numpy_exact_p50_ms": round(numpy_ms, 2), "lance_exact_scan_p50_ms": round(scan_ms, 2),
            "lance_ann_p50_ms": round(ann_ms, 2), "lancedb_builder_ann_p50_ms": round(lancedb_ms, 2),
            "lancedb_builder_ratio": round(lancedb_ms / numpy_ms, 3), "ann_index_build_s": round(build_s, 1),
            "index": "IVF_HNSW_SQ", "partitions": partitions, "nprobes": partitions, "refine_factor": REFINE,
            "ef": max(EF, 10 * REFINE),
            "exact_scan_ratio": round(scan_ms / numpy_ms, 3), "ann_ratio": round(ann_ms / numpy_ms, 3),
            "ann_recall_at_10": round(float(recall), 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = [run(n, args.queries, rng) for n in args.sizes]
    print(json.dumps({"benchmark": "search", "dim": DIM, "results": rows,
                      "goals": {"1M_ann_ratio": 0.1, "1M_recall": 0.95, "100k_ratio": 0.5},
                      "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                  "platform": platform.platform()}}, indent=2))


if __name__ == "__main__":
    main()
