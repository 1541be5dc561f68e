"""Downloads against an HTTP server started here on 127.0.0.1 (never the internet): good, truncated,
corrupt, path-escaping and link-holding zips, a 404, a stall, a flaky server, a killed job; the
weights; and the download rules end to end through Snakemake."""

from __future__ import annotations

import copy
import io
import re
import stat
import subprocess
import sys
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import TINY_CONFIG, planned_jobs, snakemake, write_config
from rolo.data.sequences import load_sequence
from rolo.data.download import DownloadError, fetch_otb_folder, fetch_url, fetch_weights
from test_otb_fakes import JPEG, format_rows, gt_rows

FAST = {"retries": 1, "backoff": 0.01, "timeout": 2.0}


def sequence_zip(folder: str, frames: int, gt_files=("groundtruth_rect.txt",), extra=(), top: str | None = None) -> bytes:
    """A zip laid out as the official ones: ``<folder>/img/0001.jpg...``, ``<folder>/<gt file>``.
    ``extra``: ``(ZipInfo or name, data)`` members added as they are."""
    top = folder if top is None else top
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for i in range(1, frames + 1):
            zf.writestr(f"{top}/img/{i:04d}.jpg", JPEG)
        for k, g in enumerate(gt_files):
            zf.writestr(f"{top}/{g}", format_rows(gt_rows(frames, k)))
        for info, data in extra:
            zf.writestr(info, data)
    return buf.getvalue()


def corrupted(data: bytes) -> bytes:
    """Flip bytes inside the first member's data: same length, CRC mismatch."""
    b = bytearray(data)
    start = 30 + len("Deer/img/0001.jpg")  # local header + name; then the stored JPEG
    for i in range(start + 20, start + 40):
        b[i] ^= 0xFF
    return bytes(b)


def link_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


class Server:
    """Routes: ``{path: handler(request) -> None}``; counts requests per path."""

    def __init__(self):
        self.routes: dict[str, object] = {}
        self.hits: dict[str, int] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.hits[self.path] = server.hits.get(self.path, 0) + 1
                route = server.routes.get(self.path)
                if route is None:
                    self.send_error(404, "Not Found")
                else:
                    route(self)

            def log_message(self, *args):
                pass

        class Quiet(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

            def handle_error(self, request, client_address):
                pass  # clients that gave up (time-outs, killed jobs) close the connection early

        self.httpd = Quiet(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def body(data: bytes, length: int | None = None, stall: float = 0.0):
    """Send ``data`` with Content-Length ``length`` (default its size), then stall, then close."""

    def handler(req):
        req.send_response(200)
        req.send_header("Content-Type", "application/zip")
        req.send_header("Content-Length", str(len(data) if length is None else length))
        req.end_headers()
        req.wfile.write(data)
        req.wfile.flush()
        if stall:
            time.sleep(stall)
        req.close_connection = True

    return handler


def status(code: int):
    return lambda req: req.send_error(code)


def flaky(fails: int, then):
    state = {"n": 0}

    def handler(req):
        state["n"] += 1
        (status(503) if state["n"] <= fails else then)(req)

    return handler


DEER = sequence_zip("Deer", 71)


@pytest.fixture(scope="module")
def server():
    s = Server()
    s.routes.update({
        "/good/Deer.zip": body(DEER),
        "/trunc/Deer.zip": body(DEER[: len(DEER) // 2], length=len(DEER)),
        "/corrupt/Deer.zip": body(corrupted(DEER)),
        "/notzip/Deer.zip": body(b"<html>mirror error page</html>"),
        "/slip/Deer.zip": body(sequence_zip("Deer", 71, extra=[("Deer/../../evil.txt", b"pwned")])),
        "/abs/Deer.zip": body(sequence_zip("Deer", 71, extra=[("/tmp/evil.txt", b"pwned")])),
        "/link/Deer.zip": body(sequence_zip("Deer", 71, extra=[(link_info("Deer/img/evil.jpg"), "/etc/passwd")])),
        "/nogt/Jogging.zip": body(sequence_zip("Jogging", 5, gt_files=("groundtruth_rect.1.txt",))),
        "/flat/Deer.zip": body(sequence_zip("Deer", 71, top="deer")),
        "/slow/Deer.zip": lambda req: (time.sleep(1.5), body(DEER)(req)),
        "/stall/Deer.zip": body(DEER[: len(DEER) // 2], length=len(DEER), stall=60),
        "/flaky/Deer.zip": flaky(2, body(DEER)),
        "/w/good.pt": body(weights_zip()),
        "/w/html.pt": body(b"<html>not found</html>"),
        "/w/nopkl.pt": body(sequence_zip("x", 1)),
    })
    yield s
    s.close()


def weights_zip() -> bytes:
    """A stand-in for a PyTorch checkpoint (a zip holding data.pkl), byte-identical every call."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in (("yolov8s/data.pkl", b"\x80\x02}q\x00."), ("yolov8s/version", b"3\n")):
            zf.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data)
    return buf.getvalue()


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_good_zip_is_extracted_into_place(server, tmp_path):
    path = fetch_otb_folder("Deer", f"{server.url}/good/Deer.zip", tmp_path, ["groundtruth_rect.txt"], **FAST)
    assert path == tmp_path / "Deer" and leftovers(tmp_path) == ["Deer"]
    assert len(list((path / "img").iterdir())) == 71 and (path / "groundtruth_rect.txt").is_file()


def test_folder_name_in_another_case_inside_the_zip(server, tmp_path):
    fetch_otb_folder("Deer", f"{server.url}/flat/Deer.zip", tmp_path, ["groundtruth_rect.txt"], **FAST)
    assert leftovers(tmp_path) == ["Deer"] and (tmp_path / "Deer/img/0071.jpg").is_file()


@pytest.mark.parametrize(
    "route, message",
    [
        ("trunc", r"truncated: received \d+ of \d+ bytes \(gave up after 2 attempts\)"),
        ("corrupt", r"corrupt archive \(CRC mismatch in 'Deer/img/0001.jpg'\)"),
        ("notzip", r"corrupt or truncated archive"),
        ("slip", r"refusing to extract 'Deer/../../evil.txt': path escapes the target folder"),
        ("abs", r"refusing to extract '/tmp/evil.txt': path escapes the target folder"),
        ("link", r"refusing to extract link 'Deer/img/evil.jpg'"),
        ("missing", r"missing/Deer.zip: HTTP 404 Not Found$"),
        ("slow", r"timed out after 0.5 s \(gave up after 2 attempts\)"),
    ],
)
def test_failures_end_right_and_leave_nothing(server, tmp_path, route, message):
    settings = {**FAST, "timeout": 0.5} if route == "slow" else FAST
    url = f"{server.url}/{route}/Deer.zip"
    with pytest.raises(DownloadError, match=message) as err:
        fetch_otb_folder("Deer", url, tmp_path, ["groundtruth_rect.txt"], **settings)
    assert url in str(err.value)
    assert leftovers(tmp_path) == []
    assert not (tmp_path.parent / "evil.txt").exists() and not Path("/tmp/evil.txt").exists()


def test_missing_ground_truth_in_the_archive(server, tmp_path):
    with pytest.raises(DownloadError, match=r"ground truth \['groundtruth_rect.2.txt'\] missing"):
        fetch_otb_folder("Jogging", f"{server.url}/nogt/Jogging.zip", tmp_path,
                         ["groundtruth_rect.1.txt", "groundtruth_rect.2.txt"], **FAST)
    assert leftovers(tmp_path) == []


def test_retries_with_back_off_then_succeeds(server, tmp_path):
    waits = []
    size = fetch_url(f"{server.url}/flaky/Deer.zip", tmp_path / "d.zip", retries=3, backoff=0.5, timeout=2, sleep=waits.append)
    assert size == len(DEER) and waits == [0.5, 1.0] and server.hits["/flaky/Deer.zip"] == 3


def test_404_is_not_retried(server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        fetch_url(f"{server.url}/nothing/X.zip", tmp_path / "x.zip", retries=3, backoff=0.01)
    assert server.hits["/nothing/X.zip"] == 1 and leftovers(tmp_path) == []


def test_killed_job_leaves_nothing_that_looks_complete(server, tmp_path):
    code = (
        "import sys; from rolo.data.download import fetch_otb_folder; "
        f"fetch_otb_folder('Deer', '{server.url}/stall/Deer.zip', sys.argv[1], ['groundtruth_rect.txt'], retries=0, timeout=60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)])
    try:
        deadline = time.monotonic() + 30
        while not any(p.stat().st_size for p in tmp_path.glob(".Deer.partial-*/*")):
            assert time.monotonic() < deadline and proc.poll() is None, "download never started"
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
    assert not (tmp_path / "Deer").exists()
    assert [p.name.startswith(".Deer.partial-") for p in tmp_path.iterdir()] == [True]  # hidden, never complete
    fetch_otb_folder("Deer", f"{server.url}/good/Deer.zip", tmp_path, ["groundtruth_rect.txt"], **FAST)
    assert leftovers(tmp_path) == ["Deer"]  # the stale partial folder is gone


def test_weights_are_checked_before_they_appear(server, tmp_path):
    dest = tmp_path / "w" / "yolov8s.pt"
    for route, message in (("html", "corrupt or truncated archive"), ("nopkl", "not a PyTorch checkpoint")):
        with pytest.raises(DownloadError, match=message):
            fetch_weights(f"{server.url}/w/{route}.pt", dest, **FAST)
        assert leftovers(dest.parent) == []
    with pytest.raises(DownloadError, match="SHA-256"):
        fetch_weights(f"{server.url}/w/good.pt", dest, sha256="0" * 64, **FAST)
    assert leftovers(dest.parent) == []
    import hashlib

    fetch_weights(f"{server.url}/w/good.pt", dest, sha256=hashlib.sha256(weights_zip()).hexdigest(), **FAST)
    assert leftovers(dest.parent) == ["yolov8s.pt"]


# --- end to end through Snakemake --------------------------------------------------------------

E2E = {
    "Deer": ("good", None),
    "Man": ("trunc", r"truncated: received \d+ of \d+ bytes"),
    "Fish": ("corrupt", r"corrupt archive \(CRC mismatch"),
    "Dog": ("slip", r"path escapes the target folder"),
    "Coke": ("missing", r"HTTP 404 Not Found"),
}


def otb_config(base_url: str, experiments: dict, **dataset) -> dict:
    config = copy.deepcopy(TINY_CONFIG)
    config["dataset"] = {"root": "resources/otb", "otb": {"base_url": base_url, **dataset}}
    config["detector"] = {"model": "resources/weights/fake.pt", "url": f"{base_url}/w/good.pt", "imgsz": 160}
    config["download"] = {"retries": 1, "backoff": 0.01, "timeout": 5}
    config["experiments"] = experiments
    config["sweeps"] = config["heatmap_figures"] = None  # they name exp2/exp1 of the tiny config
    return config


def test_download_rules_end_to_end(server, tmp_path):
    server.routes.update({
        "/e2e/Deer.zip": body(DEER),
        "/e2e/Man.zip": body(DEER[:1000], length=len(DEER)),
        "/e2e/Fish.zip": body(corrupted(DEER)),
        "/e2e/Dog.zip": body(sequence_zip("Dog", 3, extra=[("Dog/../../evil.txt", b"x")])),
    })  # Coke.zip: 404
    server.routes["/e2e/w/good.pt"] = body(weights_zip())
    names = list(E2E)
    write_config(tmp_path, otb_config(f"{server.url}/e2e", {"exp1": {"split": "disjoint", "train": names[:3], "test": names[3:]}}))

    # every extraction job depends on the one weights job (dry run of the extraction of every video)
    dry = snakemake(tmp_path, "-n", *[f"results/features/{v}/features.npy" for v in names])
    assert planned_jobs(dry)["fetch_weights"] == 1 and planned_jobs(dry)["download_otb"] == 5
    jobs = re.split(r"\n(?=\[[A-Z][a-z]{2} )", dry.stdout)  # one block per job, each opening with its timestamp
    blocks = [b for b in jobs if "rule extract_features:" in b]
    assert len(blocks) == 5 and all("resources/weights/fake.pt" in b for b in blocks)

    targets = [f"resources/otb_sequences/official/{n}/sequence.json" for n in names] + ["resources/weights/fake.pt"]
    proc = snakemake(tmp_path, "--keep-going", *targets, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    seq = load_sequence(tmp_path / "resources/otb_sequences/official/Deer", name="Deer")
    assert len(seq) == 71 and (tmp_path / "resources/weights/fake.pt").is_file()
    root = tmp_path / "resources/otb"
    assert leftovers(root) == ["Deer"]  # no partial folder, no folder of a failed download
    for name, (route, message) in E2E.items():
        if message:
            log = (tmp_path / f"logs/download_otb/{name}.log").read_text()
            assert re.search(message, log), log
            assert "dataset.otb.otb_root" in log and "config/demo.yaml" in log
    assert "dataset.otb.otb_root" in out  # the failed jobs' logs are shown (show-failed-logs)
    assert not (tmp_path / "resources/evil.txt").exists() and not (tmp_path / "evil.txt").exists()


def test_local_copy_is_used_in_place(server, tmp_path):
    from test_otb_fakes import make_tree
    from test_otb_layout import _snapshot

    local = tmp_path / "kaggle_otb"
    make_tree(local, ["Tiger1", "Jogging"])
    config = otb_config("http://127.0.0.1:9/unused", {"exp1": {"split": "held_out_tail", "videos": ["Tiger1", "Jogging.2"]}},
                        otb_root=str(local))
    write_config(tmp_path, config)
    before = _snapshot(local)
    features = [f"results/features/{v}/features.npy" for v in ("Tiger1", "Jogging.2")]
    jobs = planned_jobs(snakemake(tmp_path, "-n", *features))
    assert jobs["otb_sequence"] == 2 and "download_otb" not in jobs
    snakemake(tmp_path, "resources/otb_sequences/official/Tiger1/sequence.json", "resources/otb_sequences/official/Jogging.2/sequence.json")
    assert len(load_sequence(tmp_path / "resources/otb_sequences/official/Tiger1")) == 349
    assert _snapshot(local) == before and not (tmp_path / "resources/otb").exists()

    config["dataset"]["otb"]["otb_root"] = str(tmp_path / "elsewhere")
    write_config(tmp_path, config, "missing.yaml")
    proc = snakemake(tmp_path, "-n", *features, configfile="missing.yaml", check=False)
    assert proc.returncode != 0
    assert re.search(r"dataset.otb.otb_root: .*elsewhere: OTB root folder not found", proc.stdout + proc.stderr)


def test_unknown_sequence_names_the_setting(tmp_path):
    write_config(tmp_path, otb_config("http://127.0.0.1:9", {"exp1": {"split": "held_out_tail", "videos": ["Tigre1"]}}))
    proc = snakemake(tmp_path, "-n", check=False)
    assert proc.returncode != 0 and "'Tigre1' is not an OTB-2015 sequence" in proc.stdout + proc.stderr
