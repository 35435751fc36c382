"""The package index: which files a project has there, and reading one without fetching it.

lambundle asks the index pip installs from (PIP_INDEX_URL, pip's `index-url`, else PyPI)
for a project's files through its JSON simple API (PEP 691), with each file's sha256 and,
where the index gives it, its size (PEP 700). Three things need that before anything is
downloaded: whether a project exists at all (a resolver's "no matching distribution" says
nothing about it), which sdist a release has (`bundler.sources.sdists`), and how big a
wheel unpacks (`bundler.sources.sizes`), which a wheel's central directory says: it is
read from the end of the file with HTTP range requests, as pip's lazy wheels do.

Everything goes through the `Index` protocol, so tests pass a fake index.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from urllib.parse import urljoin

from packaging.utils import canonicalize_name

from bundler.core.errors import BundlerError

DEFAULT_INDEX = "https://pypi.org/simple"
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
# What the first read at the end of a wheel fetches: its central directory, mostly.
_TAIL_BYTES = 256 * 1024
_BLOCK_BYTES = 64 * 1024
_DOWNLOAD_CHUNK = 1 << 20


class IndexUnavailable(BundlerError):
    """The index could not be read (network, an index without the JSON API)."""


@dataclasses.dataclass(frozen=True)
class IndexFile:
    """One file of a project on the index."""

    filename: str
    url: str
    sha256: str | None
    size: int | None = None  # PEP 700; None when the index does not say
    yanked: bool = False
    requires_python: str | None = None


class Index(Protocol):
    """What lambundle asks of a package index."""

    @property
    def url(self) -> str: ...

    def files(self, project: str) -> list[IndexFile] | None:
        """The project's files, or None when the index has no such project."""
        ...

    def open(self, file: IndexFile) -> BinaryIO:
        """`file` as a seekable binary file, read as needed (not downloaded whole)."""
        ...


class WheelSource(Index, Protocol):
    """An index lambundle also downloads whole wheels from (`bundler.sources.wheels`)."""

    def save(self, file: IndexFile, dest: Path) -> None:
        """Download `file` whole into `dest`; IndexUnavailable when it cannot."""
        ...


def index_url() -> str:
    """The index pip installs from: PIP_INDEX_URL, pip's configured index-url, else PyPI."""
    return os.environ.get("PIP_INDEX_URL") or _configured_index() or DEFAULT_INDEX


def read_configuration_early() -> None:
    """Start reading pip's configured index in the background (a pip start, 0.1-0.3 s),
    for a resolve to call while the resolver runs: the size check and the downloads then
    find it read. `index_url` waits for a read that is under way."""
    threading.Thread(target=_configured_index, daemon=True).start()


_CONFIG_LOCK = threading.Lock()  # one read of pip's configuration, however many ask


def _configured_index() -> str:
    with _CONFIG_LOCK:
        return _read_configured_index()


@functools.cache
def _read_configured_index() -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "config", "get", "global.index-url"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return proc.stdout.strip() if proc.returncode == 0 else ""


class PackageIndex:
    """The real index, over HTTP(S), one connection pool per thread."""

    def __init__(self, url: str | None = None) -> None:
        self._url = (url or index_url()).rstrip("/") + "/"
        self._local = threading.local()

    @property
    def url(self) -> str:
        return self._url

    def _session(self) -> Any:
        import requests  # only where the index is asked

        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.verify = os.environ.get("PIP_CERT") or True
            self._local.session = session
        return session

    def get(self, url: str, headers: dict[str, str] | None = None, timeout: float = 60) -> Any:
        """A GET through this index's session; IndexUnavailable when it cannot connect."""
        import requests

        if not url.startswith(("http://", "https://")):
            msg = f"{url} is not an HTTP(S) URL; lambundle reads indexes over HTTP(S) only."
            raise IndexUnavailable(msg)
        try:
            return self._session().get(url, headers=headers or {}, timeout=timeout)
        except requests.RequestException as exc:
            msg = f"Cannot read {url}: {exc}"
            raise IndexUnavailable(msg) from None

    def files(self, project: str) -> list[IndexFile] | None:
        page = urljoin(self._url, f"{canonicalize_name(project)}/")
        response = self.get(page, {"Accept": SIMPLE_JSON})
        if response.status_code == 404:
            return None
        if response.status_code != 200 or "json" not in response.headers.get("content-type", ""):
            msg = (
                f"The index page {page} answered {response.status_code} "
                f"({response.headers.get('content-type', 'no content type')}), not PEP 691 JSON."
            )
            raise IndexUnavailable(msg)
        try:
            listed = response.json().get("files", [])
            return [_index_file(item, page) for item in listed]
        except (ValueError, AttributeError, TypeError, KeyError) as exc:
            msg = f"The index page {page} is not PEP 691 JSON ({exc!r})."
            raise IndexUnavailable(msg) from None

    def open(self, file: IndexFile) -> BinaryIO:
        return io.BufferedReader(RangeFile(self, file.url, file.size), _BLOCK_BYTES)

    def save(self, file: IndexFile, dest: Path) -> None:
        """Download `file` whole into `dest`; IndexUnavailable when the index does not
        serve it, or serves more than the size its page lists (a server that never stops
        would fill the disk). The bytes are not checked here: the caller checks them
        against the lock's hashes before it keeps or unpacks them."""
        import requests

        if not file.url.startswith(("http://", "https://")):
            msg = f"{file.url} is not an HTTP(S) URL; lambundle reads indexes over HTTP(S) only."
            raise IndexUnavailable(msg)
        try:
            with self._session().get(file.url, stream=True, timeout=60) as response:
                if response.status_code != 200:
                    msg = f"{file.url} answered {response.status_code}."
                    raise IndexUnavailable(msg)
                written = 0
                with open(dest, "wb") as out:
                    for chunk in response.iter_content(_DOWNLOAD_CHUNK):
                        written += len(chunk)
                        if file.size is not None and written > file.size:
                            msg = f"{file.url} sent more than the {file.size:,} bytes listed."
                            raise IndexUnavailable(msg)
                        out.write(chunk)
        except requests.RequestException as exc:
            msg = f"Cannot download {file.url}: {exc}"
            raise IndexUnavailable(msg) from None


def _index_file(item: dict[str, Any], page: str) -> IndexFile:
    size = item.get("size")
    return IndexFile(
        filename=str(item["filename"]),
        url=urljoin(page, str(item["url"])),
        sha256=(item.get("hashes") or {}).get("sha256"),
        size=size if isinstance(size, int) and size >= 0 else None,
        yanked=bool(item.get("yanked")),
        requires_python=item.get("requires-python"),
    )


class RangeFile(io.RawIOBase):
    """A remote file read by HTTP range requests: what `zipfile` needs to read a wheel's
    central directory without fetching the wheel. A server that ignores ranges (answers
    200) is IndexUnavailable, never a whole download."""

    def __init__(self, index: PackageIndex, url: str, size: int | None) -> None:
        super().__init__()
        self._index, self._url = index, url
        self._pos = 0
        self._chunks: list[tuple[int, bytes]] = []
        self._size = size if size is not None else self._probe()

    def _probe(self) -> int:
        """The size from a first read of the tail, which is kept."""
        start, data, total = self._fetch(f"bytes=-{_TAIL_BYTES}")
        self._chunks.append((start, data))
        return total

    def _fetch(self, spec: str) -> tuple[int, bytes, int]:
        response = self._index.get(self._url, {"Range": spec, "Accept-Encoding": "identity"})
        if response.status_code != 206:
            msg = f"{self._url} answered {response.status_code} to a range request."
            raise IndexUnavailable(msg)
        # "bytes 100-199/1000"
        content_range = response.headers.get("content-range", "")
        try:
            span, total = content_range.split(" ", 1)[1].split("/")
            start = int(span.split("-")[0])
            return start, response.content, int(total)
        except (IndexError, ValueError):
            msg = f"{self._url} answered a range request without a usable Content-Range."
            raise IndexUnavailable(msg) from None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        end = min(self._pos + len(view), self._size)
        if end <= self._pos:
            return 0
        data = self._read(self._pos, end)
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def _read(self, start: int, end: int) -> bytes:
        for chunk_start, chunk in self._chunks:
            if chunk_start <= start and end <= chunk_start + len(chunk):
                return chunk[start - chunk_start : end - chunk_start]
        if end > self._size - _TAIL_BYTES:  # near the end: the central directory
            low = min(start, max(0, self._size - _TAIL_BYTES))
        else:
            low = start
        high = min(self._size, max(end, low + _BLOCK_BYTES))
        fetched_start, data, _ = self._fetch(f"bytes={low}-{high - 1}")
        self._chunks.append((fetched_start, data))
        return data[start - fetched_start : end - fetched_start]
