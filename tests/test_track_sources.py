"""``rolo track`` sources beyond a video file or an image folder: a glob of images, a webcam index and
stream URLs, through Ultralytics' loaders (issue "Fits a tracking researcher's toolbox", item 4).

Every stream here is served on 127.0.0.1 by the test itself (``FrameServer``: ``http.server`` in a
thread). What is checked:

* a glob of a test video's frames and the same frames as a lossless FFV1 Matroska file streamed over
  HTTP both give the image folder's CSV byte for byte, and so the pipeline's track;
* an MJPEG-over-HTTP stream (an IP camera's format; FFmpeg decodes its JPEGs, not libjpeg) gives the
  CSV of the same JPEG bytes read as a local file: the stream path adds nothing of its own;
* a live source ends with the stream, and on SIGINT (Ctrl-C) stops and writes complete outputs;
* bad sources are one line naming the source, exit status 2.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import islice
from pathlib import Path

import cv2
import numpy as np
import pytest

from rolo.cli import main
from rolo.data.sequences import read_otb_boxes
from rolo.data.splits import read_splits
from rolo.errors import RoloInputError
from rolo.tracking.live import read_track_csv
from rolo.tracking.streaming import FrameSource, LiveSource, glob_images, source_kind, stop_on_signals

EXTRACTION_THREADS = 2  # as tests/test_track_cli.py: the pipeline's extraction threads, so tracks are bit-identical


# --- a stream server on 127.0.0.1 -------------------------------------------------------------------


class FrameServer:
    """HTTP on 127.0.0.1 in a thread. ``/mjpeg``: the JPEGs once as ``multipart/x-mixed-replace`` (an IP
    camera's MJPEG stream), then the connection closes; ``/mjpeg?loop``: the same, repeated until the
    client goes away; ``/<name>``: the bytes of ``files[name]`` (a video file, streamed by FFmpeg)."""

    def __init__(self, jpegs: list[bytes] = (), files: dict[str, bytes] | None = None):
        self.jpegs, self.files = list(jpegs), dict(files or {})
        self.sent = 0  # MJPEG parts sent
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                try:
                    if path == "/mjpeg":
                        self.send_response(200)
                        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                        self.end_headers()
                        while True:
                            for j in server.jpegs:
                                part = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(j)
                                self.wfile.write(part + j + b"\r\n")
                                server.sent += 1
                            if query != "loop" or server.closing.is_set():
                                return
                    data = server.files.get(path.lstrip("/"))
                    if data is None:
                        self.send_error(404)
                        return
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.closing = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "FrameServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def ffv1_mkv(images: list[np.ndarray], path: Path, fps: float = 10) -> bytes:
    """Lossless FFV1 in Matroska (OpenCV's FFmpeg writes it as RGB): decodes to exactly ``images``."""
    h, w = images[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*"FFV1"), fps, (w, h))
    assert writer.isOpened(), "OpenCV cannot write FFV1"
    for im in images:
        writer.write(im)
    writer.release()
    return path.read_bytes()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- without a model -------------------------------------------------------------------------------


def test_source_kinds(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "frames").mkdir()
    (tmp_path / "clip.mp4").write_bytes(b"")
    assert source_kind("frames") == "folder" and source_kind("clip.mp4") == "video"
    assert source_kind("frames/*.jpg") == "glob" and source_kind("**/*.png") == "glob"
    assert source_kind("0") == "webcam" and source_kind("12") == "webcam"
    for url in ("rtsp://cam/live", "RTMP://h/app", "tcp://127.0.0.1:5000", "http://h/x.mjpg", "https://h/v.mp4"):
        assert source_kind(url) == "stream", url
    (tmp_path / "0").mkdir()  # an existing folder wins over the webcam index
    assert source_kind("0") == "folder"
    with pytest.raises(RoloInputError, match=r"missing\.mp4: no such video file or image folder, and not a glob"):
        source_kind("missing.mp4")
    with pytest.raises(RoloInputError, match="YouTube"):
        LiveSource("https://www.youtube.com/watch?v=x")


def test_glob_natural_order_and_errors(tmp_path, monkeypatch):
    """A glob is expanded by Ultralytics' LoadImagesAndVideos (relative, recursive ``**``), then in
    natural path order like a folder; videos, other image formats and no match are errors naming them."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    for folder, names in (("a", ["f10.png", "f2.png", "f1.png"]), ("b", ["f3.png"])):
        (tmp_path / folder).mkdir()
        for n in names:
            cv2.imwrite(str(tmp_path / folder / n), rng.integers(0, 255, (24, 32, 3), np.uint8))
    (tmp_path / "a/notes.txt").write_text("not an image")
    assert [p.name for p in glob_images("a/*")] == ["f1.png", "f2.png", "f10.png"]
    assert [f"{p.parent.name}/{p.name}" for p in glob_images("**/f*.png")] == ["a/f1.png", "a/f2.png", "a/f10.png", "b/f3.png"]
    src = FrameSource("a/*.png")
    assert src.kind == "glob" and src.count == 3 and src.size == (32, 24) and src.fps is None
    np.testing.assert_array_equal(next(src.frames(2))[1], cv2.imread(str(tmp_path / "a/f10.png")))

    with pytest.raises(RoloInputError, match=r"a/\*\.jpg: the glob matches no images"):
        glob_images("a/*.jpg")
    ffv1_mkv([np.zeros((24, 32, 3), np.uint8)] * 2, tmp_path / "a/clip.mkv")
    with pytest.raises(RoloInputError, match=r"a/\*: the glob matches 1 video file\(s\) \(clip\.mkv"):
        glob_images("a/*")
    (tmp_path / "a/clip.mkv").write_bytes(b"\x00" * 64)  # a video OpenCV cannot open: still named as a video
    with pytest.raises(RoloInputError, match=r"a/\*: the glob matches a video .*clip\.mkv"):
        glob_images("a/*")
    (tmp_path / "a/clip.mkv").unlink()
    cv2.imwrite(str(tmp_path / "b/f4.tif"), rng.integers(0, 255, (24, 32, 3), np.uint8))
    with pytest.raises(RoloInputError, match=r"f4\.tif: matched by the glob b/\*"):
        glob_images("b/*")


def test_live_source_every_frame_in_order_then_end(tmp_path):
    """Ultralytics' LoadStreams reads the stream (OpenCV's FFmpeg), changed to keep every frame and to
    end with the stream: a finite MJPEG stream gives each of its frames once, in order, and then ends;
    the stock reader would instead add a black frame and reopen it (here: replay it forever). The same
    frames as lossless FFV1 over HTTP arrive pixel for pixel."""
    rng = np.random.default_rng(1)
    images = [np.ascontiguousarray(np.kron(rng.integers(0, 255, (6, 8, 3), np.uint8), np.ones((8, 8, 1), np.uint8)))
              for _ in range(40)]
    jpegs = [cv2.imencode(".jpg", im, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes() for im in images]
    with FrameServer(jpegs, {"clip.mkv": ffv1_mkv(images, tmp_path / "clip.mkv")}) as server:
        src = LiveSource(f"{server.url}/mjpeg")
        assert src.kind == "stream" and src.count is None and src.size is None
        src.open()
        try:
            assert src.size == (64, 48) and src.fps and src.fps > 0
            got = [im for _, im in islice(src.frames(), len(images) + 5)]  # more would be a replay: fails, not hangs
            with pytest.raises(RuntimeError, match="read once"):
                next(src.frames())
        finally:
            src.close()
        assert len(got) == len(images) == server.sent
        decoded = [cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR) for j in jpegs]
        # FFmpeg's JPEG decoder and chroma upsampling are not libjpeg's: frame i is the sent frame closest to it
        dist = np.array([[np.abs(r.astype(int) - d).mean() for d in decoded] for r in got])
        np.testing.assert_array_equal(dist.argmin(axis=1), np.arange(len(images)))
        assert all(im.any() for im in got)

        src = LiveSource(f"{server.url}/clip.mkv")
        src.open()
        try:
            got = [(i, im) for i, im in src.frames()]
        finally:
            src.close()
        assert [i for i, _ in got] == list(range(len(images)))
        assert all(np.array_equal(a, b) for (_, a), b in zip(got, images))


def test_unreachable_stream_and_missing_webcam_name_the_source():
    url = f"http://127.0.0.1:{closed_port()}/live.mjpg"
    with pytest.raises(RoloInputError, match=re.escape(f"{url}: cannot connect to it or read a frame from it")):
        LiveSource(url).open()
    with pytest.raises(RoloInputError, match="webcam 97: cannot open the camera"):
        LiveSource("97").open()


def test_first_signal_stops_second_aborts():
    """While tracking a live source: the first SIGINT or SIGTERM only sets the stop event (the frame in
    hand is finished, the outputs written), a second raises KeyboardInterrupt; the handlers are restored."""
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    stop = threading.Event()
    with pytest.raises(KeyboardInterrupt):
        with stop_on_signals(stop):
            os.kill(os.getpid(), signal.SIGTERM)
            assert stop.wait(5)
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(500):  # the handler runs between bytecodes of the main thread
                threading.Event().wait(0.01)
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_interrupted_file_source_is_one_line_and_exit_130(monkeypatch, capfd):
    """Ctrl-C where it aborts (a file source, or a second Ctrl-C): one line, status 130, no traceback."""
    import rolo.tracking.live

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(rolo.tracking.live, "track_source", interrupted)
    rc = main(["track", "clip.mp4", "--init", "1,1,5,5", "--model", "m.pt"])
    _, err = capfd.readouterr()
    assert rc == 130 and err.strip() == "rolo track: interrupted; nothing written"


# --- with the tiny workflow's models ------------------------------------------------------------------


def _model(workdir: Path, tracker: str = "rolo") -> Path:
    """exp1's checkpoint of ``tracker`` (``rolo``: the closed-loop ROLO; ``rolo_paper``: the paper's, faster)."""
    from test_track_cli import model_path

    return model_path(workdir, "exp1", tracker)


def _init(workdir: Path, video: str = "D") -> str:
    from test_track_cli import init_arg

    split = read_splits(workdir / "results/exp1/splits.json")[video]
    assert split.test == (0, 36)  # exp1: the whole video, from frame 1
    return init_arg(split.start_box)


def track(capfd, source, workdir: Path, out: Path, *extra, tracker: str = "rolo") -> tuple[int, str, str]:
    rc = main(["track", str(source), "--init", _init(workdir), "--model", str(_model(workdir, tracker)), "--out",
               str(out), "--threads", str(EXTRACTION_THREADS), *map(str, extra)])
    out_text, err = capfd.readouterr()
    return rc, out_text, err


@pytest.fixture
def torch_threads():
    import torch

    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_glob_and_lossless_http_stream_reproduce_the_folder_exactly(tiny_workflow, tmp_path, capfd, torch_threads,
                                                                    monkeypatch):
    """Same decoded frames, same batches and threads -> the same CSV, byte for byte: a relative glob of the
    folder's frames, and the frames as lossless FFV1 Matroska served over HTTP (a stream: no frame count,
    read until it ends). Their boxes are the pipeline's track."""
    img = tiny_workflow / "resources/synthetic/D/img"
    rc, _, err = track(capfd, img, tiny_workflow, tmp_path / "folder.csv")
    assert rc == 0, err
    folder = (tmp_path / "folder.csv").read_text()
    np.testing.assert_array_equal(read_track_csv(tmp_path / "folder.csv")["otb"],
                                  read_otb_boxes(tiny_workflow / "results/exp1/tracks/rolo/D.txt"))

    monkeypatch.chdir(img.parent)
    rc, out, err = track(capfd, "img/*.jpg", tiny_workflow, tmp_path / "glob.csv")
    assert rc == 0 and "tracked 36 frames (1..36)" in out, err
    assert (tmp_path / "glob.csv").read_text() == folder

    frames = [cv2.imread(str(p)) for p in sorted(img.glob("*.jpg"))]
    with FrameServer(files={"D.mkv": ffv1_mkv(frames, tmp_path / "D.mkv")}) as server:
        rc, out, err = track(capfd, f"{server.url}/D.mkv", tiny_workflow, tmp_path / "stream.csv")
    assert rc == 0 and "tracked 36 frames (1..36)" in out and "(end of stream)" in out, err
    assert "track 36 frames" in err  # progress without a total: the count is unknown
    assert (tmp_path / "stream.csv").read_text() == folder


def test_mjpeg_stream_equals_the_same_jpegs_as_a_file(tiny_workflow, tmp_path, capfd, torch_threads):
    """An MJPEG stream over HTTP is decoded by FFmpeg, whose JPEG decoder differs from the folder's
    (libjpeg) by a few grey levels, so the track may differ from the folder's. What the stream path
    guarantees: the same bytes read from a local file (raw MJPEG, the same decoder) give the same CSV,
    and the stream ends with its last frame."""
    jpegs = [p.read_bytes() for p in sorted((tiny_workflow / "resources/synthetic/D/img").glob("*.jpg"))]
    (tmp_path / "D.mjpeg").write_bytes(b"".join(jpegs))
    rc, _, err = track(capfd, tmp_path / "D.mjpeg", tiny_workflow, tmp_path / "file.csv")
    assert rc == 0, err
    with FrameServer(jpegs) as server:
        rc, out, err = track(capfd, f"{server.url}/mjpeg", tiny_workflow, tmp_path / "stream.csv")
    assert rc == 0 and "tracked 36 frames (1..36)" in out and "(end of stream)" in out, err
    assert (tmp_path / "stream.csv").read_text() == (tmp_path / "file.csv").read_text()


def test_ctrl_c_stops_an_endless_stream_and_writes_complete_outputs(tiny_workflow, tmp_path, capfd, torch_threads):
    """``rolo track`` on an endless MJPEG stream, Ctrl-C (SIGINT to its process group) once it reports
    progress: exit status 0, a complete CSV (frames 1..n, n as reported) and an MP4 of n frames; its
    first rows are those of the same frames read from a file (the rows of whole detector batches that
    hold the same frames). The paper's ROLO (the fastest model) runs, so that the stream is well past
    its first cycle."""
    jpegs = [p.read_bytes() for p in sorted((tiny_workflow / "resources/synthetic/D/img").glob("*.jpg"))]
    (tmp_path / "D.mjpeg").write_bytes(b"".join(jpegs))
    rc, _, err = track(capfd, tmp_path / "D.mjpeg", tiny_workflow, tmp_path / "file.csv", tracker="rolo_paper")
    assert rc == 0, err
    with FrameServer(jpegs) as server:
        cmd = [sys.executable, "-m", "rolo.cli", "track", f"{server.url}/mjpeg?loop", "--init", _init(tiny_workflow),
               "--model", str(_model(tiny_workflow, "rolo_paper")), "--out", str(tmp_path / "live.csv"), "--video",
               str(tmp_path / "live.mp4"), "--threads", str(EXTRACTION_THREADS)]
        # its own process group, signalled as a whole, as a terminal's Ctrl-C does (the MP4 encoder's
        # ffmpeg, started by imageio-ffmpeg in a group of its own, must survive it)
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                                env={**os.environ, "YOLO_OFFLINE": "1"}, start_new_session=True)
        err_lines = []
        timer = threading.Timer(300, proc.kill)  # a hung run fails the test instead of blocking it
        timer.start()
        try:
            for line in proc.stderr:  # progress lines, every 5 s when not on a terminal
                err_lines.append(line)
                if (m := re.match(r"track (\d+) frames", line)) and int(m[1]) >= 40:
                    os.killpg(proc.pid, signal.SIGINT)
                    break
            out, rest = proc.communicate(timeout=120)
        finally:
            timer.cancel()
    err = "".join(err_lines) + rest
    assert proc.returncode == 0, err
    m = re.search(r"tracked (\d+) frames \(1\.\.(\d+)\) .*\(stopped by a signal\)", out)
    assert m and m[1] == m[2], out
    n = int(m[1])
    assert "stopping after this frame" in err and "Traceback" not in err
    got = read_track_csv(tmp_path / "live.csv")
    np.testing.assert_array_equal(got["frame"], np.arange(1, n + 1))
    assert n > 36 and server.sent >= n  # past the first cycle: the stream has no end of its own
    file_rows = (tmp_path / "file.csv").read_text().splitlines()
    assert (tmp_path / "live.csv").read_text().splitlines()[:33] == file_rows[:33]  # header + 2 batches of 16
    cap = cv2.VideoCapture(str(tmp_path / "live.mp4"))
    frames = 0
    while cap.read()[0]:
        frames += 1
    cap.release()
    assert frames == n
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".live")]  # no temporary files left


def _bad(case: str, workdir: Path, tmp: Path) -> tuple[list[str], str]:
    if case == "unreachable_stream":
        url = f"rtsp://127.0.0.1:{closed_port()}/cam"
        return [url], f"error: {url}: cannot connect"
    if case == "missing_webcam":
        return ["97"], "error: webcam 97: cannot open the camera"
    if case == "glob_no_match":
        return [str(workdir / "resources/synthetic/D/img/*.png")], "the glob matches no images"
    if case == "start_on_stream":
        return [f"http://127.0.0.1:{closed_port()}/x.mjpg", "--start", "5"], "--start 5: a stream is tracked from the first frame"
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["unreachable_stream", "missing_webcam", "glob_no_match", "start_on_stream"])
def test_bad_source_is_one_line_and_exit_2(tiny_workflow, tmp_path, capfd, torch_threads, case):
    argv, expected = _bad(case, tiny_workflow, tmp_path)
    rc = main(["track", argv[0], "--init", "30,40,50,40", "--model", str(_model(tiny_workflow)),
               "--out", str(tmp_path / "t.csv"), *argv[1:]])
    _, err = capfd.readouterr()
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and lines[0].startswith("rolo track: error:") and expected in lines[0], err
    assert not list(tmp_path.iterdir())
