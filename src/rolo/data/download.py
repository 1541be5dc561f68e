"""Downloads that fail clearly and leave nothing half-written: files over HTTP(S), zip archives,
dataset folders (OTB sequences, LaSOT classes), detector weights.

* :func:`fetch_url` retries connection errors, time-outs, truncated bodies and HTTP 5xx/429 with
  exponential back-off; a 4xx (e.g. 404) fails at once. The file appears at its destination only
  when complete (:func:`rolo.utils.io.atomic_path`).
* :func:`verify_zip` checks an archive's structure and every member's CRC.
* :func:`safe_extract` refuses the whole archive if one member is absolute, climbs out of the
  target folder (``..``, "zip-slip") or is a symbolic link.
* :func:`fetch_folder` downloads one zip, checks and extracts it in a hidden
  ``.<name>.partial-*`` folder beside the destination, checks its content and renames the result
  into place: a killed or failed job leaves nothing that looks complete. :func:`fetch_otb_folder`
  (one OTB sequence) and :func:`rolo.data.lasot.fetch_lasot_class` (one LaSOT class) use it.
* :func:`fetch_weights` downloads detector weights and checks they are a PyTorch archive (and
  their SHA-256 when given).

Every failure raises :class:`DownloadError` naming the URL or file and the reason.
"""

from __future__ import annotations

import hashlib
import http.client
import shutil
import stat
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath

from rolo.data.sequences import IMAGE_SUFFIXES
from rolo.utils.io import atomic_path

CHUNK = 1 << 20
RETRY_HTTP = {408, 425, 429, 500, 502, 503, 504}


class DownloadError(RuntimeError):
    """A download, archive check or extraction failed. The message names the URL or file."""


def fetch_url(
    url: str,
    dest: str | Path,
    retries: int = 4,
    backoff: float = 2.0,
    timeout: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Download ``url`` to ``dest``; return its size in bytes.

    Up to ``retries`` further attempts follow a retryable failure, waiting ``backoff * 2**k``
    seconds before attempt ``k + 2``. ``timeout`` bounds the connection and every read.
    """
    last = ""
    for attempt in range(retries + 1):
        if attempt:
            sleep(backoff * 2 ** (attempt - 1))
        try:
            return _fetch_once(url, Path(dest), timeout)
        except urllib.error.HTTPError as e:
            last = f"HTTP {e.code} {e.reason}"
            if e.code not in RETRY_HTTP:
                raise DownloadError(f"{url}: {last}") from None
        except (_Truncated, http.client.HTTPException) as e:
            last = str(e) or type(e).__name__
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as e:
            reason = getattr(e, "reason", e)
            last = "timed out" if isinstance(reason, TimeoutError) else f"{type(reason).__name__}: {reason}"
            if isinstance(reason, TimeoutError):
                last += f" after {timeout:g} s"
        print(f"{url}: attempt {attempt + 1}/{retries + 1} failed: {last}", flush=True)
    raise DownloadError(f"{url}: {last} (gave up after {retries + 1} attempts)")


class _Truncated(Exception):
    pass


def _fetch_once(url: str, dest: Path, timeout: float) -> int:
    with urllib.request.urlopen(url, timeout=timeout) as resp, atomic_path(dest) as tmp:
        expected = resp.headers.get("Content-Length")
        size = 0
        read = getattr(resp, "read1", resp.read)  # whatever has arrived, up to CHUNK
        with open(tmp, "wb") as f:
            while chunk := read(CHUNK):
                f.write(chunk)
                size += len(chunk)
        if expected is not None and size != int(expected):
            raise _Truncated(f"truncated: received {size} of {int(expected)} bytes")
        if size == 0:
            raise _Truncated("empty response")
    return size


def verify_zip(path: str | Path, label: str | None = None) -> list[zipfile.ZipInfo]:
    """Check a zip archive's structure and every member's CRC -> its members. Errors name
    ``label`` (default: the path)."""
    label = label or str(path)
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
            if bad is not None:
                raise DownloadError(f"{label}: corrupt archive (CRC mismatch in {bad!r})")
            return zf.infolist()
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as e:
        raise DownloadError(f"{label}: corrupt or truncated archive ({e})") from None


def _member_path(label: str, info: zipfile.ZipInfo) -> PurePosixPath:
    """A member's relative path; raises if it is a link or would land outside the target."""
    name = info.filename.replace("\\", "/")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise DownloadError(f"{label}: refusing to extract link {info.filename!r}")
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts or (p.parts and p.parts[0].endswith(":")):
        raise DownloadError(f"{label}: refusing to extract {info.filename!r}: path escapes the target folder")
    return p


def safe_extract(zip_path: str | Path, dest: str | Path, label: str | None = None) -> None:
    """Extract every member of ``zip_path`` under ``dest``, or nothing if one member is unsafe.
    Errors name ``label`` (default: the path)."""
    zip_path, dest = Path(zip_path), Path(dest)
    label = label or str(zip_path)
    with zipfile.ZipFile(zip_path) as zf:
        members = [(info, _member_path(label, info)) for info in zf.infolist()]
        for info, rel in members:
            target = dest.joinpath(*rel.parts)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out, CHUNK)


def _find_sequence_root(extracted: Path, folder: str, label: str) -> Path:
    """The extracted folder holding ``img/``: ``<folder>/`` (any case) or the archive's root."""
    candidates = [extracted] + [p for p in extracted.iterdir() if p.is_dir() and p.name.lower() == folder.lower()]
    for c in reversed(candidates):
        if (c / "img").is_dir():
            return c
    raise DownloadError(f"{label}: no {folder}/img/ folder in the archive")


def fetch_folder(
    name: str,
    url: str,
    root: str | Path,
    locate: Callable[[Path], Path],
    retries: int = 4,
    backoff: float = 2.0,
    timeout: float = 60.0,
) -> Path:
    """Download the zip at ``url`` and put the folder it holds at ``root/name`` -> that path.

    The zip is fetched, its CRCs checked and it is extracted (refusing unsafe members, see
    :func:`safe_extract`) inside a hidden ``root/.<name>.partial-*`` folder; ``locate(extracted)``
    then returns the folder to keep, after checking its content (raising :class:`DownloadError`
    otherwise), and only that folder is renamed to ``root/name``. Leftovers of an earlier killed
    attempt are removed first; an existing non-empty ``root/name`` is an error.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    final = root / name
    if final.exists():
        if final.is_dir() and not any(final.iterdir()):
            final.rmdir()
        else:
            raise DownloadError(f"{final}: already exists; remove it to download {url} again")
    for stale in root.glob(f".{name}.partial-*"):
        shutil.rmtree(stale, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix=f".{name}.partial-", dir=root))
    try:
        archive = work / f"{name}.zip"
        size = fetch_url(url, archive, retries=retries, backoff=backoff, timeout=timeout)
        print(f"{url}: {size} bytes", flush=True)
        verify_zip(archive, url)
        safe_extract(archive, work / "x", url)
        locate(work / "x").rename(final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return final


def fetch_otb_folder(
    folder: str,
    url: str,
    root: str | Path,
    gt_files: Iterable[str],
    retries: int = 4,
    backoff: float = 2.0,
    timeout: float = 60.0,
) -> Path:
    """Download and extract one OTB sequence folder to ``root/folder`` -> that path
    (:func:`fetch_folder`; the archive must hold ``img/`` with images and every ground-truth file
    in ``gt_files``)."""
    gt_files = list(gt_files)

    def locate(extracted: Path) -> Path:
        content = _find_sequence_root(extracted, folder, url)
        if not any(p.suffix.lower() in IMAGE_SUFFIXES for p in (content / "img").iterdir()):
            raise DownloadError(f"{url}: {folder}/img holds no images")
        missing = [g for g in gt_files if not (content / g).is_file()]
        if missing:
            raise DownloadError(f"{url}: ground truth {missing} missing from the archive")
        return content

    return fetch_folder(folder, url, root, locate, retries=retries, backoff=backoff, timeout=timeout)


def check_weights(path: str | Path, sha256: str | None = None, label: str | None = None) -> None:
    """Check a downloaded weights file: a PyTorch (zip) checkpoint holding ``data.pkl``, with the
    given SHA-256 if any. Errors name ``label`` (default: the path)."""
    path = Path(path)
    label = label or str(path)
    if sha256:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                h.update(chunk)
        if h.hexdigest() != sha256.lower():
            raise DownloadError(f"{label}: SHA-256 {h.hexdigest()} differs from the expected {sha256}")
    members = verify_zip(path, label)
    if not any(PurePosixPath(m.filename).name == "data.pkl" for m in members):
        raise DownloadError(f"{label}: not a PyTorch checkpoint (no data.pkl inside)")


def fetch_weights(
    url: str, dest: str | Path, sha256: str | None = None, retries: int = 4, backoff: float = 2.0, timeout: float = 60.0
) -> None:
    """Download detector weights to ``dest``, checked (:func:`check_weights`) before they appear there."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{dest.name}.partial-", dir=dest.parent) as work:
        tmp = Path(work) / dest.name
        fetch_url(url, tmp, retries=retries, backoff=backoff, timeout=timeout)
        check_weights(tmp, sha256, url)
        tmp.replace(dest)
