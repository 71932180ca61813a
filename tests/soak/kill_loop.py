"""The soak kill loop: SIGKILL `tessera` commands at random moments across import, generate,
curation, the trash and publishing (to the demo marketplace on this machine), and check the
library whole after every kill. Not part of `make test`: see tests/soak/README.md.

    python tests/soak/kill_loop.py [--kills 1000] [--seed 5] [--out soak.json]

After each kill, with the library opened as the next command would open it:
- SQLite's quick_check is ok, and no committed pattern lacks its file;
- `check --repair` leaves no stray, partial or missing file behind it;
- after a reconcile, the vector index holds exactly SQLite's ids;
- the audit log only grew (its triggers refuse UPDATE and DELETE);
- every marketplace row is in a state the outbox knows.
Prints (and writes to --out, every 25 kills) JSON with the kills per operation, how many landed
while the command was still working, and every failure with its report.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from desktop.library import Library, search  # noqa: E402

STATES = {"queued", "sending", "published", "failed"}


def _files(folder: Path, n: int, rng: np.random.Generator) -> Path:
    folder.mkdir(parents=True)
    for i in range(n):
        Image.fromarray((rng.random((32, 32, 3)) * 255).astype(np.uint8)).save(folder / f"{i:03d}.png")
    return folder


def _ids(root: Path) -> tuple[list[int], list[int], list[int]]:
    """(live, approved, trashed) pattern ids, read as a script beside the window reads them."""
    with Library(root, read_only=True) as lib:
        live = [p["id"] for p in lib.list()]
        approved = [p["id"] for p in lib.list(status="approved")]
        trashed = [p["id"] for p in lib.list(trashed=True)]
    return live, approved, trashed


def _command(op: str, root: Path, work: Path, k: int, rng: random.Random, nrng) -> list[str] | None:
    live, approved, trashed = _ids(root)
    base = [sys.executable, "-m", "desktop", "--library", str(root)]
    if op == "import":
        return [*base, "library", "import", str(_files(work / f"in-{k}", 40, nrng))]
    if op == "generate":
        return [*base, "generate", "--style", rng.choice(["toss", "polka-dots", "stripes"]), "--size", "128",
                "--count", "4", "--seed", str(k), "--to-library", "--out", str(work / f"gen-{k}")]
    if op == "curate" and live:
        chosen = rng.sample(live, min(len(live), 60))
        return [*base, "library", "set", *map(str, chosen), "--status", rng.choice(["approved", "draft"]),
                "--rating", str(rng.randint(0, 5)), "--tag", f"soak-{k % 7}"]
    if op == "trash" and live:
        return [*base, "library", "trash", *map(str, rng.sample(live, min(len(live), 20)))]
    if op == "restore" and trashed:
        return [*base, "library", "restore", *map(str, trashed[:30])]
    if op == "empty-trash" and trashed:
        return [*base, "library", "empty-trash", "--yes"]
    if op == "publish" and approved:
        return [*base, "publish", "queue", *map(str, approved[:8]), "--no-mockups"]
    return None


def _whole(root: Path, audit_before: int) -> tuple[bool, dict, int]:
    with Library(root) as lib:  # quick_check runs on open and raises if the database is damaged
        found = lib.check()
        lib.check(repair=True)
        after = lib.check()
        search.reconcile(lib)
        with lib.engine.connect() as conn:
            truth = set(conn.exec_driver_sql("SELECT id FROM pattern WHERE trashed IS NULL").scalars())  # (not the trash)
            audit = conn.exec_driver_sql("SELECT count(*) FROM audit_log").scalar()
            states = set(conn.exec_driver_sql("SELECT DISTINCT state FROM publication").scalars())
        indexed = search.index(lib).ids()
    report = {"quick_check": found["quick_check"], "missing_files": found["missing_files"],
              "left_after_repair": after["stray_files"] + after["partial_files"] + after["missing_files"],
              "index_differs": sorted(indexed ^ truth)[:10], "audit": [audit_before, audit],
              "unknown_states": sorted(states - STATES)}
    ok = (found["quick_check"] == "ok" and not found["missing_files"] and not report["left_after_repair"]
          and not report["index_differs"] and audit >= audit_before and not report["unknown_states"])
    return ok, report, audit


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    rng, nrng = random.Random(args.seed), np.random.default_rng(args.seed)
    ops = ["import", "generate", "curate", "trash", "restore", "empty-trash", "publish"]
    result = {"benchmark": "kill_loop", "kills": 0, "by_operation": {op: 0 for op in ops},
              "mid_work": 0, "failures": [], "seconds": 0.0}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        work, root = Path(tmp), Path(tmp) / "lib"
        env = dict(os.environ, TESSERA_HOME=str(work / "home"), QT_QPA_PLATFORM="offscreen",
                   PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", TESSERA_OFFLINE="")
        market = subprocess.Popen([sys.executable, "-m", "desktop", "market", "serve", "--demo", "--port", "0"],
                                  cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            url = market.stdout.readline().split()[3]
            base = [sys.executable, "-m", "desktop", "--library", str(root)]
            subprocess.run([*base, "publish", "login", url, "--token", "demo"], cwd=ROOT, env=env, check=True,
                           capture_output=True, timeout=120)
            subprocess.run([*base, "library", "import", str(_files(work / "seed", 200, nrng))], cwd=ROOT, env=env,
                           check=True, capture_output=True, timeout=300)
            audit = 0
            for k in range(args.kills):
                op = rng.choice(ops)
                cmd = _command(op, root, work, k, rng, nrng)
                if cmd is None:
                    op, cmd = "import", _command("import", root, work, k, rng, nrng)
                child = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(rng.uniform(0.6, 2.4))  # the interpreter's start is about 1 s of it
                result["mid_work"] += child.poll() is None
                child.send_signal(signal.SIGKILL)
                child.wait(30)
                result["kills"] += 1
                result["by_operation"][op] += 1
                try:
                    ok, report, audit = _whole(root, audit)
                except Exception as exc:
                    ok, report = False, {"error": repr(exc)}
                if not ok:
                    result["failures"].append({"kill": k, "operation": op, "report": report})
                if args.out and (k + 1) % 25 == 0:
                    result["seconds"] = round(time.perf_counter() - start, 1)
                    Path(args.out).write_text(json.dumps(result, indent=2))
        finally:
            market.send_signal(signal.SIGINT)
            market.wait(60)
    result["seconds"] = round(time.perf_counter() - start, 1)
    result["survived"] = result["kills"] - len(result["failures"])
    text = json.dumps(result, indent=2)
    if args.out:
        Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
