"""A fake package index for the sources' tests: projects and their files in memory."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import BinaryIO

from bundler.sources.index import IndexFile, IndexUnavailable


class FakeIndex:
    """`bundler.sources.index.Index` over files on disk; counts what it is asked."""

    url = "https://index.invalid/simple/"

    def __init__(self, unavailable: bool = False) -> None:
        self.projects: dict[str, list[tuple[IndexFile, Path | None]]] = {}
        self.unavailable = unavailable
        self.asked: list[str] = []
        self.opened: list[str] = []
        self.saved: list[str] = []
        self.served: dict[str, bytes] = {}

    def add(self, project: str, path: Path | None = None, *, filename: str = "",
            size: int | None = None, sha256: str | None = None) -> IndexFile:  # fmt: skip
        """List `path` (a real file) or just a `filename` under `project`."""
        if path is not None:
            data = path.read_bytes()
            filename = filename or path.name
            sha256 = sha256 or hashlib.sha256(data).hexdigest()
            size = len(data) if size is None else size
        item = IndexFile(filename, self.url + filename, sha256, size)
        self.projects.setdefault(project, []).append((item, path))
        return item

    def files(self, project: str) -> list[IndexFile] | None:
        self.asked.append(project)
        if self.unavailable:
            msg = "the fake index is down"
            raise IndexUnavailable(msg)
        listed = self.projects.get(project)
        return None if listed is None else [item for item, _ in listed]

    def save(self, file: IndexFile, dest: Path) -> None:
        """Write the listed file's bytes, or `served[filename]` in their place (an index
        that serves other bytes than it lists)."""
        self.saved.append(file.filename)
        if file.filename in self.served:
            dest.write_bytes(self.served[file.filename])
            return
        dest.write_bytes(self.open(file).read())

    def open(self, file: IndexFile) -> BinaryIO:
        self.opened.append(file.filename)
        for listed in self.projects.values():
            for item, path in listed:
                if item == file and path is not None:
                    return io.BytesIO(path.read_bytes())
        msg = f"{file.filename} has no bytes in the fake index"
        raise IndexUnavailable(msg)
