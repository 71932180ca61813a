"""The model registry: diffusers folders, single-file .safetensors checkpoints, Hugging Face ids.

Every model is recorded with its family (SD 1.5 or SDXL), its sha256 and where it came from.
Pickle-based files (.ckpt, .pt, .bin) can run code when they are unpickled, so they are
refused unless the user explicitly trusts that one file; even then they are read with
`torch.load(weights_only=True)`, which refuses anything but tensors (the only torch import
here). A file's family is read from its safetensors header, its tensors or its folder's
config (families.py). The list itself is a small JSON file, written atomically under a lock;
names are unique; a model's files are re-hashed only when their fingerprint changed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.config import atomic_write_bytes
from desktop.engine.diffusion.families import (
    FAMILY_NAMES,
    family_of_folder,
    family_of_weights,
    pickle_message,
    refuse_untrusted_pickles,
)
from desktop.engine.diffusion.weights import PICKLE_SUFFIXES, safetensors_header
from desktop.errors import UserError

HF_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
BLOCK = 4 << 20
STAMP_VERSION = 2  # a stamp of another shape (1: count, size, latest mtime) makes the model hashed once more
Progress = Callable[[int, int], None]  # (bytes hashed, bytes in all); it may raise to stop the hashing


@dataclass
class ModelEntry:
    name: str
    kind: str  # diffusers-folder | single-file | hf-id
    location: str  # a path, or a Hugging Face id
    family: str  # sd15 | sdxl | unknown
    sha256: str
    source: str
    trusted_pickle: bool = False
    added: str = ""
    stamp: list[int] = field(default_factory=list)  # fingerprint() of its files when they were hashed


def fingerprint(location: str) -> list[int]:
    """What a model's files look like on disk, cheaply (one stat a file, no bytes read): while it
    stays the same, its sha256 is taken to stay the same. It is a digest of every file's path, size,
    modification time and change time, so one file replaced in place is seen even when its size is
    the same and its modification time was set back: on Linux and macOS the change time cannot be
    set back. (On Windows it is the creation time, so there such a replacement may go unseen.)"""
    path = Path(location)
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    digest, total = hashlib.sha256(), 0
    for file in files:
        s = file.stat()
        total += s.st_size
        name = file.name if file == path else file.relative_to(path).as_posix()
        digest.update(f"{name}\0{s.st_size}\0{s.st_mtime_ns}\0{s.st_ctime_ns}\n".encode())
    return [STAMP_VERSION, len(files), total, int(digest.hexdigest()[:15], 16)]


def _hash_files(paths: list[Path], progress: Progress | None = None) -> list[str]:
    """Each file's sha256, reporting the bytes read across all of them."""
    total = sum(p.stat().st_size for p in paths)
    done, hashes = 0, []
    for path in paths:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(BLOCK), b""):
                digest.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
        hashes.append(digest.hexdigest())
    return hashes


def _sha256_file(path: Path, progress: Progress | None = None) -> str:
    return _hash_files([path], progress)[0]


def _sha256_folder(folder: Path, progress: Progress | None = None) -> str:
    """One hash for a diffusers folder: every file's relative path and content hash, in order."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for path, sha in zip(files, _hash_files(files, progress)):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(sha.encode())
    return digest.hexdigest()


def read_pickle_tensors(path: Path) -> dict[str, Any]:
    """A pickle checkpoint's tensors through `torch.load(weights_only=True)`, which refuses any other
    object; memory-mapped where the file's format allows, so reading its names costs little."""
    import pickle

    import torch

    try:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as exc:  # the legacy (pre-zip) format cannot be mapped: read it whole
            if "mmap" not in str(exc):
                raise
            state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, ValueError, EOFError) as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise UserError(f"{path.name} holds more than tensors, or is damaged, and was not loaded ({reason})") from None
    except OSError as exc:
        raise UserError(f"{path.name} could not be read ({exc.strerror or exc})") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise UserError(f"{path.name} does not hold a table of weights")
    return state


def resolved_location(location: str) -> str:
    """Where a model location points, as the registry records it."""
    path = Path(location).expanduser()
    return str(path.resolve()) if path.exists() else location


def describe_location(location: str, name: str | None = None, trust_pickle: bool = False,
                      progress: Progress | None = None) -> ModelEntry:
    """What a model location holds (kind, family, sha256), refusing untrusted pickles. A trusted
    pickle's weights are read once (tensors only) for its family, so a file that holds anything
    else is refused here rather than when it is first used."""
    path = Path(location).expanduser()
    if path.is_dir():
        pickled = refuse_untrusted_pickles(path, trust_pickle)  # the same gate as a pickle file's
        family, stamp = family_of_folder(path), fingerprint(str(path))  # the stamp before the hash
        return ModelEntry(name or path.name, "diffusers-folder", str(path.resolve()), family,
                          _sha256_folder(path, progress), str(path), trusted_pickle=pickled, stamp=stamp)
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix in PICKLE_SUFFIXES and not trust_pickle:
            raise UserError(pickle_message(path.name))
        if suffix == ".safetensors":
            header = safetensors_header(path)[0]
            family = family_of_weights(path.name, {k: list(v.get("shape", [])) for k, v in header.items()
                                                   if k != "__metadata__" and isinstance(v, dict)})
        elif suffix in PICKLE_SUFFIXES:
            tensors = read_pickle_tensors(path)
            family = family_of_weights(path.name, {k: list(getattr(v, "shape", [])) for k, v in tensors.items()})
        else:
            raise UserError(f"{path.name}: models are diffusers folders, .safetensors files, or trusted "
                            f"pickle checkpoints ({', '.join(sorted(PICKLE_SUFFIXES))})")
        stamp = fingerprint(str(path))
        return ModelEntry(name or path.stem, "single-file", str(path.resolve()), family,
                          _sha256_file(path, progress), str(path), trusted_pickle=suffix in PICKLE_SUFFIXES,
                          stamp=stamp)
    if HF_ID.match(location):
        return ModelEntry(name or location.split("/")[-1], "hf-id", location,
                          "sdxl" if "xl" in location.lower() else "sd15", "", "huggingface")
    raise UserError(f"{location}: no such file or folder, and not a Hugging Face id (owner/name)")


def check_name(name: str) -> str:
    """A model's name as the registry keeps it: trimmed, not empty, and not read as a path or an id."""
    name = name.strip()
    if not name:
        raise UserError("a model needs a name")
    if "/" in name or "\\" in name:
        raise UserError(f"'{name}': a model's name cannot hold a slash (it would be read as a path or a hub id)")
    return name


def _free_name(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    n = 2
    while f"{name}-{n}" in taken:
        n += 1
    return f"{name}-{n}"


def available(entry: ModelEntry) -> bool:
    """Whether the model's files are still where they were added (a hub id always is)."""
    return entry.kind == "hf-id" or Path(entry.location).exists()


def up_to_date(entry: ModelEntry, progress: Progress | None = None) -> ModelEntry:
    """The entry with the sha256 its files have now (provenance records it): hashed again only when
    their fingerprint changed. A trusted pickle is never re-hashed here: a changed one
    must be refused (verify_trusted_pickle), not trusted anew."""
    if entry.kind == "hf-id" or entry.trusted_pickle or not available(entry):
        return entry
    stamp = fingerprint(entry.location)
    if stamp == entry.stamp:
        return entry
    path = Path(entry.location)
    sha = _sha256_folder(path, progress) if path.is_dir() else _sha256_file(path, progress)
    return dataclasses.replace(entry, sha256=sha, stamp=stamp)


def label(entry: ModelEntry) -> str:
    """Its family, and whether its files are gone, as a list of models shows it."""
    return FAMILY_NAMES.get(entry.family, entry.family) + ("" if available(entry) else ", missing")


class ModelRegistry:
    def __init__(self, path: Path):
        self.path = path

    def entries(self) -> list[ModelEntry]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise UserError(f"the model list {self.path} could not be read ({exc.strerror or exc})") from None
        except ValueError:
            raise UserError(f"the model list {self.path} is damaged; move it aside to start a new one") from None
        known = {f.name for f in dataclasses.fields(ModelEntry)}
        items = raw.get("models", []) if isinstance(raw, dict) else None
        try:  # fields a later Tessera adds are left out; a damaged entry is not guessed at
            return [ModelEntry(**{k: v for k, v in item.items() if k in known}) for item in items]
        except (AttributeError, TypeError):
            raise UserError(f"the model list {self.path} is damaged; move it aside to start a new one") from None

    @contextmanager
    def _changing(self) -> Iterator[list[ModelEntry]]:
        """The entries, to change in place and save, with the list locked against other writers
        (the window adds models on two threads; a command may run beside it)."""
        from filelock import FileLock, Timeout

        lock = FileLock(str(self.path) + ".lock", timeout=30)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock.acquire()
        except Timeout:
            raise UserError(f"the model list {self.path} stayed locked by another writer; try again") from None
        except OSError as exc:
            raise UserError(f"the model list {self.path} could not be locked ({exc.strerror or exc})") from None
        try:
            entries = self.entries()
            yield entries
            self._save(entries)
        finally:
            lock.release()

    def _save(self, entries: list[ModelEntry]) -> None:
        payload = {"schema_version": 1, "models": [dataclasses.asdict(e) for e in entries]}
        try:  # the old list stays whole if this fails (a full disk, a read-only folder)
            atomic_write_bytes(self.path, (json.dumps(payload, indent=2) + "\n").encode())
        except OSError as exc:
            raise UserError(f"the model list {self.path} could not be saved ({exc.strerror or exc}); "
                            "nothing was changed") from None

    def get(self, name: str) -> ModelEntry:
        for entry in self.entries():
            if entry.name == name:
                return entry
        raise UserError(f"no model called '{name}' (see 'tessera models list')")

    def add(self, location: str, name: str | None = None, trust_pickle: bool = False,
            progress: Progress | None = None) -> ModelEntry:
        """Register a model. Adding a location again refreshes its entry (and keeps its name); a
        default name already taken gets a number; a name asked for that is taken is refused."""
        where = resolved_location(location)
        if name is not None:
            name = check_name(name)
            self._check_free(name, where)  # before hashing gigabytes
        entry = describe_location(location, name, trust_pickle, progress)
        entry.added = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        with self._changing() as entries:  # read again: the list may have changed while hashing
            same = next((i for i, e in enumerate(entries) if e.location == entry.location), None)
            if same is not None and name is None:
                entry.name = entries[same].name
            if name is not None:
                self._check_free(name, entry.location, entries)
            entry.name = _free_name(check_name(entry.name),
                                    {e.name for i, e in enumerate(entries) if i != same})
            if same is None:
                entries.append(entry)
            else:
                entries[same] = entry
        return entry

    def _check_free(self, name: str, location: str, entries: list[ModelEntry] | None = None) -> None:
        for e in self.entries() if entries is None else entries:
            if e.name == name and e.location != location:
                raise UserError(f"a model called '{name}' is already registered ({e.location}); "
                                "choose another name or remove that one first")

    def refresh(self, entry: ModelEntry, progress: Progress | None = None) -> ModelEntry:
        """`up_to_date(entry)`, recorded in the list when the entry is one of its own."""
        fresh = up_to_date(entry, progress)
        if fresh is not entry and any((e.name, e.location) == (entry.name, entry.location) for e in self.entries()):
            with self._changing() as entries:
                for i, e in enumerate(entries):
                    if (e.name, e.location) == (entry.name, entry.location):
                        entries[i] = dataclasses.replace(e, sha256=fresh.sha256, stamp=fresh.stamp)
        return fresh

    def remove(self, name: str) -> tuple[int, ModelEntry]:
        """Unregister a model (its files are left alone); returns where it stood and what it was."""
        with self._changing() as entries:
            index = next((i for i, e in enumerate(entries) if e.name == name), None)
            if index is None:
                raise UserError(f"no model called '{name}'")
            return index, entries.pop(index)

    def restore(self, index: int, entry: ModelEntry) -> ModelEntry:
        """Put a removed entry back where it stood (undo), under a free name."""
        with self._changing() as entries:
            entry = dataclasses.replace(entry, name=_free_name(entry.name, {e.name for e in entries}))
            entries.insert(min(index, len(entries)), entry)
        return entry

    def rename(self, name: str, new_name: str) -> ModelEntry:
        new_name = check_name(new_name)
        with self._changing() as entries:
            found = next((e for e in entries if e.name == name), None)
            if found is None:
                raise UserError(f"no model called '{name}'")
            if new_name != name and any(e.name == new_name for e in entries):
                raise UserError(f"a model called '{new_name}' is already registered")
            found.name = new_name
        return found


def verify_trusted_pickle(entry: ModelEntry) -> None:
    """A pickle checkpoint (or a folder holding pickles) is read only if the user trusted it and it has
    not changed since."""
    path = Path(entry.location)
    if not entry.trusted_pickle:
        raise UserError(f"{path.name} is a pickle file that was never trusted")
    sha = _sha256_folder(path) if path.is_dir() else _sha256_file(path)
    if sha != entry.sha256:
        raise UserError(f"{path.name} changed since it was added (its sha256 differs); add it again to use it")


def load_state_dict(entry: ModelEntry) -> dict[str, Any]:
    """A single-file checkpoint's tensors: safetensors directly, a trusted pickle with weights_only=True."""
    path = Path(entry.location)
    if path.suffix.lower() != ".safetensors":
        verify_trusted_pickle(entry)
    elif _sha256_file(path) != entry.sha256:
        raise UserError(f"{path.name} changed since it was added (its sha256 differs); add it again to use it")
    if path.suffix.lower() == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    return read_pickle_tensors(path)
