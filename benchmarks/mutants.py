"""Mutation scores per module, from the last `mutmut run` (`make mutants`): JSON on stdout.

mutmut changes one thing at a time in the modules named in pyproject.toml's [tool.mutmut] (an
operator, a constant, a string, a call's argument) and runs the tests that reach the changed
function; a mutant the tests do not notice "survived". The goal (BENCHMARKS.md) is under 10 %
surviving in each module, every survivor killed by a test or explained as equivalent.

    python benchmarks/mutants.py [--survivors]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def scores(mutants: Path) -> dict[str, dict]:
    from mutmut.stats import status_by_exit_code

    out = {}
    for meta in sorted(mutants.rglob("*.py.meta")):
        module = str(meta.relative_to(mutants)).removesuffix(".meta")
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        if not codes:
            continue
        status = {key: status_by_exit_code[code] for key, code in codes.items()}
        counts = Counter(status.values())
        decided = sum(n for s, n in counts.items() if s != "not checked")
        survived = counts.get("survived", 0)
        out[module] = {"mutants": len(codes), "decided": decided, **dict(counts),
                       "surviving_share": round(survived / decided, 4) if decided else None,
                       "survivors": sorted(k for k, s in status.items() if s == "survived")}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--survivors", action="store_true", help="list each surviving mutant's name")
    args = parser.parse_args()
    mutants = ROOT / "mutants"
    if not mutants.is_dir():
        print("no mutants/ folder: run `make mutants` first", file=sys.stderr)
        return 2
    found = scores(mutants)
    if not args.survivors:
        for entry in found.values():
            entry.pop("survivors")
    print(json.dumps({"benchmark": "mutants", "machine": platform.platform(), "python": platform.python_version(),
                      "modules": found}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
