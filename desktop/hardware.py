"""What compute this machine has. Importing torch is slow, so the window asks in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from typing import Any


def package_version(name: str) -> str | None:
    """An installed distribution's version, without importing it."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def probe_devices() -> dict[str, Any]:
    """Torch's view of the accelerators (imports torch in this process)."""
    info: dict[str, Any] = {"torch": package_version("torch"), "cuda": False, "devices": [], "mps": False}
    if info["torch"] is None:
        info["error"] = "torch is not installed"
        return info
    try:
        import torch
    except Exception as exc:  # a broken CUDA install must not take the app down
        info["error"] = f"torch failed to import: {exc}"
        return info
    info["cuda_build"] = torch.version.cuda
    try:
        info["cuda"] = bool(torch.cuda.is_available())
        if info["cuda"]:
            for i in range(torch.cuda.device_count()):
                props = torch.cuda.get_device_properties(i)
                device = {"index": i, "name": props.name, "memory_gb": round(props.total_memory / 2**30, 1)}
                try:  # what other programs leave free (tessera doctor)
                    device["free_gb"] = round(torch.cuda.mem_get_info(i)[0] / 2**30, 1)
                except Exception:
                    device["free_gb"] = None
                info["devices"].append(device)
        info["mps"] = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    except Exception as exc:
        info["error"] = f"device query failed: {exc}"
    return info


def probe_devices_subprocess(timeout: float = 90.0) -> dict[str, Any]:
    """probe_devices() in a child process, so torch never loads into the caller."""
    try:
        # a bundle's executable is Tessera itself: it answers --probe-devices (main.py)
        command = [sys.executable, "--probe-devices"] if getattr(sys, "frozen", False) else [
            sys.executable, "-m", "desktop.hardware"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (subprocess.TimeoutExpired, OSError, ValueError, IndexError) as exc:
        return {"torch": package_version("torch"), "cuda": False, "devices": [], "error": f"probe failed: {exc}"}


if __name__ == "__main__":
    print(json.dumps(probe_devices()))
