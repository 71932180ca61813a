"""Which PyTorch build fits this machine, and from which wheel index: the one place that decides.

The installers run this file as a script before Tessera is installed (so it uses the standard
library only), and `tessera doctor` names its fix from the same choice:

    python desktop/torch_build.py            TAG<tab>INDEX_URL<tab>REASON  (INDEX_URL empty: PyPI's own)
    python desktop/torch_build.py --json     the same, and what nvidia-smi said, as JSON

The rule: the NVIDIA driver says, in nvidia-smi's header, the newest CUDA it runs. The newest of
PyTorch's CUDA builds the driver runs is the one to install; PyPI's own Linux x86_64 wheel is one
of them (cu130 for torch 2.14), so there no index is needed. No driver: the CPU build, from
PyTorch's CPU index on Linux and Windows (PyPI's Linux wheel would pull gigabytes of CUDA libraries
for nothing). A driver older than the oldest build: the CPU build, and the driver is named as the
fix. macOS: PyPI's wheel, which has Apple's Metal (MPS) on Apple silicon.
"""

from __future__ import annotations

import json
import platform
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass

# PyTorch 2.14's CUDA wheels, newest first: (tag, the CUDA version the driver must run)
CUDA_BUILDS: tuple[tuple[str, tuple[int, int]], ...] = (("cu130", (13, 0)), ("cu128", (12, 8)), ("cu126", (12, 6)))
PYPI_LINUX_CUDA = "cu130"  # the build PyPI serves for Linux x86_64 (torch 2.14.1+cu130)
INDEX = "https://download.pytorch.org/whl/{tag}"
SMI_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class TorchBuild:
    tag: str  # cu130 | cu128 | cu126 | cpu | mps
    index_url: str  # "" for PyPI's own wheel
    reason: str


def _version(v: tuple[int, int]) -> str:
    return f"{v[0]}.{v[1]}"


def choose(system: str, machine: str, driver_cuda: tuple[int, int] | None) -> TorchBuild:
    """The build for an OS (platform.system()), a CPU (platform.machine()) and the newest CUDA the
    NVIDIA driver runs (None: no NVIDIA driver)."""
    if system == "Darwin":
        metal = machine == "arm64"
        return TorchBuild("mps" if metal else "cpu", "", "macOS: PyPI's wheel" +
                          (", with Apple's Metal (MPS) for diffusion" if metal else " (an Intel Mac: the CPU)"))
    if driver_cuda is None:
        return TorchBuild("cpu", INDEX.format(tag="cpu"),
                          "no NVIDIA driver here: the CPU build (diffusion on the CPU takes minutes a tile; "
                          "the procedural engine needs no GPU)")
    pypi_has_cuda = system == "Linux" and machine in ("x86_64", "AMD64")
    for tag, needs in CUDA_BUILDS:
        if driver_cuda >= needs:
            where = "" if (pypi_has_cuda and tag == PYPI_LINUX_CUDA) else INDEX.format(tag=tag)
            return TorchBuild(tag, where, f"the NVIDIA driver runs CUDA {_version(driver_cuda)}: the CUDA "
                              f"{_version(needs)} build" + (" (PyPI's own)" if not where else ""))
    oldest = _version(CUDA_BUILDS[-1][1])
    return TorchBuild("cpu", INDEX.format(tag="cpu"),
                      f"the NVIDIA driver runs CUDA {_version(driver_cuda)} only, and PyTorch's oldest CUDA build "
                      f"needs {oldest}: update the NVIDIA driver, then run the update; the CPU build meanwhile")


def driver_cuda(smi_header: str) -> tuple[int, int] | None:
    """The newest CUDA the driver runs, from nvidia-smi's header ("CUDA Version: 12.8")."""
    found = re.search(r"CUDA Version:\s*(\d+)\.(\d+)", smi_header)
    return (int(found.group(1)), int(found.group(2))) if found else None


def nvidia_smi(run=subprocess.run) -> dict | None:
    """What nvidia-smi says: the driver, the CUDA it runs, and each GPU's name and memory (MiB).
    None when there is no nvidia-smi or it fails (no NVIDIA driver, or a broken one: `error` says)."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        header = run([exe], capture_output=True, text=True, timeout=SMI_TIMEOUT_S, check=False)
        query = run([exe, "--query-gpu=name,driver_version,memory.total,memory.free", "--format=csv,noheader,nounits"],
                    capture_output=True, text=True, timeout=SMI_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"error": f"nvidia-smi did not answer ({exc})", "gpus": [], "driver": "", "cuda": None}
    if header.returncode != 0:
        said = (header.stderr or header.stdout).strip().splitlines()
        return {"error": said[0] if said else f"nvidia-smi failed ({header.returncode})", "gpus": [], "driver": "",
                "cuda": None}
    gpus = []
    for line in query.stdout.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 4:
            name, driver, total, free = parts
            gpus.append({"name": name, "driver": driver, "memory_mib": _int(total), "free_mib": _int(free)})
    cuda = driver_cuda(header.stdout)
    return {"gpus": gpus, "driver": gpus[0]["driver"] if gpus else "", "cuda": list(cuda) if cuda else None}


def _int(text: str) -> int | None:
    try:
        return int(float(text))
    except ValueError:
        return None


def for_this_machine(smi: dict | None = None) -> TorchBuild:
    smi = nvidia_smi() if smi is None else smi
    cuda = tuple(smi["cuda"]) if smi and smi.get("cuda") else None
    return choose(platform.system(), platform.machine(), cuda)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    smi = nvidia_smi()
    build = for_this_machine(smi if smi is not None else {})
    if "--json" in argv:
        print(json.dumps({**asdict(build), "nvidia_smi": smi, "system": platform.system(),
                          "machine": platform.machine()}))
    else:
        print(f"{build.tag}\t{build.index_url}\t{build.reason}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
