"""The LanceDB index: a rebuildable copy of what SQLite knows, for fast search by look.

Each row: the pattern id, its descriptor (and the model that made it), its perceptual
hashes, and the fields search filters on (status, rating, tags, collections). Filters are
pushed into the LanceDB query (prefilter), so "approved, rated 4+" searches only those rows.
Below `ANN_THRESHOLD` rows the search is exact, in numpy over a copy of the table held in
memory (measured 25x faster than LanceDB's own scan, whose per-query overhead dominates at
these sizes); above it LanceDB's IVF-HNSW-SQ index with a refine step answers, filters pushed
into the query. BENCHMARKS.md has the measurements behind the crossover and the settings.

lancedb is imported here only, and only when the library first needs the index.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from desktop.library.catalogue import tag_list
from desktop.library.descriptor import DIM, MODEL

TABLE = "patterns"
CLIP_TABLE = "clip"
ANN_THRESHOLD = 100_000
ANN_KIND = "ivf_hnsw_sq"  # HNSW graphs over scalar-quantised vectors, inside IVF partitions
REFINE = 3  # candidates re-ranked on full vectors, per result asked for
EF = 64  # HNSW beam width (at least limit * REFINE)


def _quote(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


class VectorIndex:
    def __init__(self, folder: Path):
        import lancedb
        import pyarrow as pa

        self.folder = folder
        self.db = lancedb.connect(str(folder))
        self.schema = pa.schema([
            pa.field("id", pa.int64()), pa.field("vector", pa.list_(pa.float32(), DIM)),
            pa.field("model", pa.string()), pa.field("hashes", pa.list_(pa.int64())),
            pa.field("status", pa.string()), pa.field("rating", pa.int32()), pa.field("tags", pa.string()),
        ])
        self.table = self._open(TABLE, self.schema)
        self.clip = self._open(CLIP_TABLE, None)
        # in-memory copies (exact search) and opened datasets (ANN), dropped after every write; a copy
        # read while a write was under way is not kept (the write's generation moved on meanwhile)
        self._cache: dict[str, Any] = {}
        self._generation = 0
        self._write_lock = threading.RLock()  # one write at a time, whichever lane asks

    @contextmanager
    def _writing(self):
        try:
            with self._write_lock:
                yield
        finally:
            self._generation += 1
            self._cache.clear()

    def catch_up(self) -> None:
        """See what another process wrote to the index (a script beside the window): the tables
        move to their latest versions and what was cached of them is dropped."""
        with self._writing():
            for table in (self.table, self.clip):
                if table is not None and hasattr(table, "checkout_latest"):
                    table.checkout_latest()

    def _remember(self, key: str, value, generation: int):
        if generation == self._generation:
            self._cache[key] = value
        return value

    def _open(self, name: str, schema):
        names = self.db.list_tables() if hasattr(self.db, "list_tables") else self.db.table_names()
        names = list(getattr(names, "tables", names))
        if name in names:
            return self.db.open_table(name)
        # exist_ok: another index object (another process, say) may have made it since the listing
        return self.db.create_table(name, schema=schema, exist_ok=True) if schema is not None else None

    # -- CLIP vectors: a table of their own (the dimension depends on the model) ------------------
    def clip_upsert(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        import pyarrow as pa

        dim = len(rows[0]["vector"])
        with self._writing():
            if self.clip is None:
                schema = pa.schema([pa.field("id", pa.int64()), pa.field("vector", pa.list_(pa.float32(), dim)),
                                    pa.field("model", pa.string()), pa.field("status", pa.string()),
                                    pa.field("rating", pa.int32()), pa.field("tags", pa.string())])
                self.clip = self.db.create_table(CLIP_TABLE, schema=schema, exist_ok=True)
            _replace(self.clip, [{**r, "vector": np.asarray(r["vector"], np.float32),
                                  "tags": "|" + "|".join(r.get("tags", [])) + "|"} for r in rows])

    def clip_search(self, vector: np.ndarray, limit: int = 10, **filters) -> list[dict[str, Any]]:
        if self.clip is None:
            return []
        return self._search(self.clip, vector, limit, **filters)

    def clip_ids(self, model: str | None = None) -> set[int]:
        """Ids that have a CLIP vector (made by `model`, when given)."""
        if self.clip is None:
            return set()
        return {i for i, m in self._models(self.clip).items() if model is None or m == model}

    def models(self) -> dict[int, str]:
        """Each indexed id and the model (look version) that made its row."""
        return self._models(self.table)

    def _models(self, table) -> dict[int, str]:
        data = self._dataset(table).to_table(columns=["id", "model"])  # those two columns only
        return dict(zip(data.column("id").to_pylist(), data.column("model").to_pylist()))

    def ids(self) -> set[int]:
        return set(self.models())

    def upsert(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        with self._writing():
            _replace(self.table, [{**r, "vector": np.asarray(r["vector"], np.float32), "model": r.get("model", MODEL),
                                  "hashes": [int(np.int64(np.uint64(h))) for h in r["hashes"]],
                                  "tags": "|" + "|".join(r.get("tags", [])) + "|"} for r in rows])

    def update_fields(self, pattern_id: int, status: str, rating: int, tags: list[str]) -> None:
        with self._writing():
            for table in (self.table, self.clip):
                if table is not None:
                    table.update(where=f"id = {int(pattern_id)}",
                                 values={"status": status, "rating": int(rating), "tags": "|" + "|".join(tags) + "|"})

    FIELDS_ONE_BY_ONE = 8  # up to this many patterns, one UPDATE each; more are rewritten in one go

    def update_fields_many(self, fields: dict[int, tuple[str, int, list[str]]]) -> None:
        """Status, rating and tags of many patterns (id -> (status, rating, tags)). A few are
        updated in place; a larger set (a selection approved at once) is read, changed and
        written back as one merge per table, since every UPDATE is a commit of its own (about
        17 ms each at 5,000 rows, BENCHMARKS.md)."""
        if len(fields) <= self.FIELDS_ONE_BY_ONE:
            for pid, (status, rating, tags) in fields.items():
                self.update_fields(pid, status, rating, tags)
            return
        import pyarrow as pa

        ids = sorted(int(i) for i in fields)
        with self._writing():
            for table in (self.table, self.clip):
                if table is None:
                    continue
                for start in range(0, len(ids), 2000):
                    where = f"id IN ({', '.join(map(str, ids[start:start + 2000]))})"
                    rows = table.to_lance().to_table(filter=where)
                    if not rows.num_rows:
                        continue
                    order = rows.column("id").to_pylist()
                    for name, values, kind in (
                            ("status", [fields[i][0] for i in order], pa.string()),
                            ("rating", [int(fields[i][1]) for i in order], pa.int32()),
                            ("tags", ["|" + "|".join(fields[i][2]) + "|" for i in order], pa.string())):
                        rows = rows.set_column(rows.schema.get_field_index(name), name, pa.array(values, kind))
                    _replace(table, rows)

    def delete(self, ids: list[int]) -> None:
        if ids:
            with self._writing():
                for table in (self.table, self.clip):
                    if table is not None:
                        table.delete(f"id IN ({', '.join(str(int(i)) for i in ids)})")

    def search(self, vector: np.ndarray, limit: int = 10, **filters) -> list[dict[str, Any]]:
        return self._search(self.table, vector, limit, **filters)

    def _search(self, table, vector: np.ndarray, limit: int = 10, status: str | None = None, min_rating: int = 0,
                tag: str | None = None, exclude: int | None = None, ids: list[int] | None = None
                ) -> list[dict[str, Any]]:
        """Nearest rows; `ids` limits the search to those patterns (a collection, say)."""
        if ids is not None and not ids:
            return []
        dataset = self._dataset(table)
        if dataset.count_rows() < ANN_THRESHOLD:
            return self._exact(table, vector, limit, status, min_rating, tag, exclude, ids)
        where = []
        if ids is not None:
            where.append(f"id IN ({', '.join(str(int(i)) for i in ids)})")
        if status:
            where.append(f"status = {_quote(status)}")
        if min_rating:
            where.append(f"rating >= {int(min_rating)}")
        for name in tag_list(tag):
            where.append(f"tags LIKE {_quote('%|' + name + '|%')}")
        if exclude is not None:
            where.append(f"id != {int(exclude)}")
        columns = [c for c in ("id", "model", "hashes") if c in dataset.schema.names]
        rows = ann_query(dataset, vector, limit, " AND ".join(where), columns).to_pylist()
        # unit vectors: cosine similarity = 1 - squared L2 / 2
        return [{"id": r["id"], "similarity": 1.0 - float(r["_distance"]) / 2.0, "model": r["model"],
                 "hashes": [int(np.uint64(np.int64(h))) for h in r.get("hashes") or []]} for r in rows]

    def _dataset(self, table):
        """The table's Lance dataset at its latest version (kept until the next write here: every
        write goes through this object, and drops it)."""
        key = f"{table.name}:dataset"
        dataset = self._cache.get(key)  # read once: a write on another lane may clear the cache meanwhile
        if dataset is None:
            generation = self._generation
            dataset = self._remember(key, table.to_lance(), generation)
        return dataset

    def _columns(self, table) -> dict[str, Any]:
        name = table.name
        columns = self._cache.get(name)  # read once: a write on another lane may clear the cache meanwhile
        if columns is None:
            generation = self._generation
            data = table.to_arrow()
            vectors = data.column("vector").combine_chunks()
            dim = vectors.type.list_size
            columns = {
                "id": np.asarray(data.column("id").to_numpy(), np.int64),
                "vector": np.asarray(vectors.values.to_numpy(zero_copy_only=False), np.float32).reshape(-1, dim),
                "status": np.asarray(data.column("status").to_pylist(), dtype=object),
                "rating": np.asarray(data.column("rating").to_numpy(zero_copy_only=False)),
                "tags": np.asarray(data.column("tags").to_pylist(), dtype=str),
                "model": data.column("model").to_pylist(),
                "hashes": data.column("hashes").to_pylist() if "hashes" in data.column_names else None,
            }
            self._remember(name, columns, generation)
        return columns

    def _exact(self, table, vector, limit, status, min_rating, tag, exclude, ids=None) -> list[dict[str, Any]]:
        cols = self._columns(table)
        if len(cols["id"]) == 0:
            return []
        keep = np.ones(len(cols["id"]), bool)
        if status:
            keep &= cols["status"] == status
        if min_rating:
            keep &= cols["rating"] >= min_rating
        for name in tag_list(tag):
            keep &= np.char.find(cols["tags"], f"|{name}|") >= 0
        if exclude is not None:
            keep &= cols["id"] != exclude
        if ids is not None:
            keep &= np.isin(cols["id"], np.asarray(ids, np.int64))
        candidates = np.flatnonzero(keep)
        if len(candidates) == 0:
            return []
        sims = cols["vector"][candidates] @ np.asarray(vector, np.float32)
        top = candidates[np.argsort(-sims)[:limit]]
        sim_of = dict(zip(candidates.tolist(), sims.tolist()))
        return [{"id": int(cols["id"][i]), "similarity": float(sim_of[int(i)]), "model": cols["model"][i],
                 "hashes": [int(np.uint64(np.int64(h))) for h in (cols["hashes"][i] if cols["hashes"] else [])]}
                for i in top]

    def all_rows(self) -> list[dict[str, Any]]:
        data = self.table.to_arrow()
        out = []
        for i, pid in enumerate(data.column("id").to_pylist()):
            out.append({"id": pid, "vector": np.asarray(data.column("vector")[i].as_py(), np.float32),
                        "hashes": [int(np.uint64(np.int64(h))) for h in data.column("hashes")[i].as_py()]})
        return out

    def ensure_ann(self) -> bool:
        """Build the ANN index once the table is large enough that it pays (see BENCHMARKS.md), and
        rebuild it when the table has grown by a quarter since (or was indexed another way). True
        when it built one. Rows added after a build are still found: LanceDB scans them exactly."""
        import json

        rows = self.table.count_rows()
        if rows < ANN_THRESHOLD:
            return False
        marker = self.folder / "ann.json"
        built = json.loads(marker.read_text()) if marker.is_file() else {}
        if built.get("kind") == ANN_KIND and rows < built.get("rows", 0) * 1.25:
            return False
        from lancedb.index import IvfHnswSq

        with self._writing():  # the next search opens the version that has the index
            self.table.create_index("vector", config=IvfHnswSq(distance_type="l2", num_partitions=_partitions(rows)),
                                    replace=True)
        marker.write_text(json.dumps({"rows": rows, "kind": ANN_KIND}))
        return True


def _replace(table, rows: list[dict[str, Any]]) -> None:
    """Put these rows in the table in place of those with their ids, in one commit: a search on
    another lane sees the old rows or the new, never neither (a delete then an add showed a gap)."""
    table.merge_insert("id").when_matched_update_all().when_not_matched_insert_all().execute(rows)


def ann_query(dataset, vector: np.ndarray, limit: int, where: str = "", columns=("id",)):
    """The `limit` nearest rows of a Lance dataset through its ANN index, `where` applied first
    (prefilter): every partition probed (there are few: see _partitions), the graph walked with a
    beam wide enough for the refined candidates, and those re-ranked on the full vectors. An
    Arrow table of `columns` plus `_distance` (squared L2).

    The dataset is queried through pylance directly: LanceDB's own query builder makes six
    round trips to its event-loop thread per query, which at 100k rows cost more than the search
    itself (4.3 ms against 2.2 ms, measured in benchmarks/search.py's set-up)."""
    nearest = {"column": "vector", "q": np.asarray(vector, np.float32), "k": limit,
               "nprobes": _partitions(dataset.count_rows()), "refine_factor": REFINE, "ef": max(EF, limit * REFINE)}
    return dataset.to_table(columns=[*columns, "_distance"], filter=where or None, prefilter=True, nearest=nearest,
                            disable_scoring_autoprojection=True)


def _partitions(rows: int) -> int:
    """IVF partitions over the HNSW graphs: one per million rows (measured in benchmarks/search.py:
    one graph of 1M answers in a twentieth of numpy's exact time at recall 1.0; more partitions would
    build faster but each probe pays LanceDB's per-partition cost)."""
    return max(1, rows // 1_000_000)
