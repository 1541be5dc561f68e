"""How the detector runs: ``extraction.backend`` (docs/backends.md).

``torch``        eager PyTorch, the model as Ultralytics builds it (Conv and BatchNorm apart): the
                 default, and what ``config/demo.yaml`` runs, so its outputs do not move.
``torch_fused``  eager PyTorch after Ultralytics' own ``model.fuse()`` (Conv+BN folded, as its
                 ``predict`` does).
``onnxruntime``  the fused model exported to ONNX and run by ONNX Runtime on the CPU.
``openvino``     the same ONNX file compiled by OpenVINO for the CPU (float32 inference precision).

Every path gives the same three things from one forward pass: the head's raw predictions (Ultralytics'
``non_max_suppression`` turns them into boxes, as for eager PyTorch), the pooled feature layer and,
when ``extraction.neck`` is set, the Detect head's input maps. Ultralytics' exporter cannot add outputs,
so :class:`ExportOutputs` wraps the model and ``torch.onnx.export`` writes it with the extra outputs.
The export is cached next to the weights (``<weights>.exports/``), keyed by the weights' hash, the
letterboxed size, the feature layer and the neck levels (the batch axis is dynamic); a model built
from a yaml (random weights) is exported to a temporary folder instead.

The paths other than ``torch`` change outputs in the last float bits (folded BatchNorm, other kernels);
``tests/test_backends.py`` bounds the feature and box differences against eager PyTorch. The choice is
a fixed setting, never made at run time: ``rolo track`` and the pipeline's extraction use the same one
and then give the same features bit for bit (same batches, same threads).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from rolo.errors import RoloInputError

if TYPE_CHECKING:
    import torch

BACKENDS = ("torch", "torch_fused", "onnxruntime", "openvino")
"""The values of ``extraction.backend``."""

DEFAULT_BACKEND = "torch"
"""The default (eager, unfused PyTorch): byte-identical to extraction before backends existed."""

EXPORTED = {"onnxruntime": ("onnxruntime", "onnxruntime"), "openvino": ("openvino", "openvino")}
"""Exported backends: their Python module and the ``rolo[...]`` extra that installs it."""

OPSET = 17


def check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise RoloInputError(f"extraction.backend: {backend!r} is not one of {', '.join(BACKENDS)}")
    return backend


def require(backend: str):
    """Import the package an exported backend needs; a missing one is a one-line error naming the setting."""
    import importlib

    module, extra = EXPORTED[backend]
    for name in (module, "onnx"):  # onnx: torch.onnx.export writes the file through it
        try:
            mod = importlib.import_module(name)
        except ImportError:
            raise RoloInputError(
                f"extraction.backend: {backend} needs the {name} package: pip install 'rolo[{extra}]' "
                "(or use backend torch: extraction.backend in the config, --backend for rolo track)"
            ) from None
        if name == module:
            found = mod
    return found


def export_module(model, layer: int, levels: tuple[int, ...]):
    """An ``nn.Module`` around an Ultralytics detection model: ``x -> (predictions, feature, *neck)``,
    ``predictions (B, 4 + nc, A)`` the head's decoded output that ``non_max_suppression`` reads,
    ``feature (B, C)`` the feature layer's output averaged over space, ``neck`` the Detect head's inputs
    at ``levels`` (unreduced float32)."""
    import torch

    class _Outputs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model
            self._cap: dict = {}
            model.model[layer].register_forward_hook(lambda m, i, o: self._cap.__setitem__("feature", o.mean(dim=(2, 3))))
            model.model[-1].register_forward_pre_hook(lambda m, i: self._cap.__setitem__("neck", [i[0][k] for k in levels]))

        def forward(self, x):
            self._cap.clear()
            y = self.model(x)
            y = y[0] if isinstance(y, (tuple, list)) else y
            return (y, self._cap["feature"], *self._cap.get("neck", [])[: len(levels)])

    return _Outputs()


def weights_digest(model) -> str:
    """SHA-256 (16 hex digits) over the model's parameters and buffers (names, shapes, bytes)."""
    h = hashlib.sha256()
    for name, t in model.state_dict().items():
        t = t.detach().cpu().contiguous()
        h.update(f"{name}:{tuple(t.shape)}:{t.dtype}\0".encode())
        h.update((t.float() if t.dtype.itemsize == 2 and t.dtype.is_floating_point else t).numpy().tobytes())
    return h.hexdigest()[:16]


def export_dir(detector: str) -> Path | None:
    """The export cache of weights ``detector``: ``<weights>.exports/`` beside them; None for a yaml."""
    p = Path(str(detector))
    if p.suffix == ".pt" and p.is_file():
        return p.with_name(p.stem + ".exports")
    return None


def export_onnx(model, detector: str, hw: tuple[int, int], layer: int, levels: tuple[int, ...], tmp_dir: Path) -> Path:
    """The fused ``model``'s ONNX file with :func:`export_module`'s outputs for letterboxed size ``hw``,
    from the cache when there (written atomically: concurrent jobs may export the same file)."""
    import torch

    digest = weights_digest(model)
    neck = "".join(str(k) for k in levels) or "none"
    name = f"{Path(str(detector)).stem}-{digest}-{hw[0]}x{hw[1]}-f{layer}-neck{neck}-bdyn-op{OPSET}.onnx"
    folder = export_dir(detector) or tmp_dir
    target = folder / name
    if target.is_file():
        return target
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        folder = tmp_dir
        target = folder / name
    wrapper = export_module(model, layer, levels).eval()
    outputs = ["predictions", "feature"] + [f"neck{k}" for k in levels]
    fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=folder)
    os.close(fd)
    try:
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
            torch.onnx.export(
                wrapper, (torch.zeros(1, 3, *hw),), tmp, dynamo=False, opset_version=OPSET, input_names=["images"],
                output_names=outputs, dynamic_axes={n: {0: "batch"} for n in ["images", *outputs]},
            )
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return target


_ALIVE: list = []


class ExportedRunner:
    """An exported backend: ``runner(x)`` with ``x (B, 3, h, w)`` float32 in [0, 1] ->
    ``(predictions, feature, neck maps)`` as torch tensors, like the eager forward pass with its hooks.

    The ONNX file is made (or read from the cache) at the first batch of a letterboxed size. Threads:
    torch's when the runner is made (``torch.get_num_threads()``, which the pipeline pins per job), so
    both entry points run the same kernels on the same threads."""

    def __init__(self, backend: str, model, detector: str, layer: int, levels: tuple[int, ...]):
        import torch

        self.threads = max(1, torch.get_num_threads())
        self.backend = backend
        self.module = require(backend)
        self.model, self.detector, self.layer, self.levels = model, str(detector), layer, tuple(levels)
        self._tmp = Path(tempfile.mkdtemp(prefix="rolo-export-"))
        self._sessions: dict = {}

    def close(self) -> None:
        # the loaded sessions are kept to the end of the process: destroying OpenVINO's compiled model while its
        # worker threads wind down crashed the benchmark's process (SIGSEGV) now and then
        _ALIVE.extend(self._sessions.values())
        self._sessions.clear()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def _session(self, shape: tuple[int, ...]):
        hw = tuple(int(v) for v in shape[2:])
        key = hw if self.backend == "onnxruntime" else tuple(int(v) for v in shape)
        if key in self._sessions:
            return self._sessions[key]
        onnx_file = export_onnx(self.model, self.detector, hw, self.layer, self.levels, self._tmp)
        threads = self.threads
        if self.backend == "onnxruntime":
            ort = self.module
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
            opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            opts.log_severity_level = 3
            sess = ort.InferenceSession(str(onnx_file), opts, providers=["CPUExecutionProvider"])

            def run(x):
                return sess.run(None, {"images": x})
        else:
            ov = self.module
            core = ov.Core()
            net = core.read_model(str(onnx_file))
            net.reshape({"images": list(shape)})  # static shapes: OpenVINO's fastest plan for this batch size
            compiled = core.compile_model(net, "CPU", {
                "INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY",
                "NUM_STREAMS": 1,
            })
            request = compiled.create_infer_request()
            outputs = compiled.outputs

            def run(x):
                result = request.infer({"images": x})
                return [result[o] for o in outputs]
        self._sessions[key] = run
        return run

    def prepare(self, shape: tuple[int, ...]) -> None:
        """Export (or read the cache) and load the backend for inputs of ``shape`` ``(B, 3, h, w)``, and run
        it once on zeros: a session's first run allocates its buffers (about one more forward pass's time),
        which is loading, not a frame's work. The outputs of later runs do not depend on it."""
        import numpy as np

        shape = tuple(int(v) for v in shape)
        self._session(shape)(np.zeros(shape, np.float32))

    def __call__(self, x: "torch.Tensor"):
        import numpy as np
        import torch

        arr = np.ascontiguousarray(x.detach().cpu().float().numpy())
        out = self._session(tuple(arr.shape))(arr)
        out = [torch.from_numpy(np.array(o, copy=True)) for o in out]
        return out[0], out[1], out[2:]


class ExportedNeck:
    """The neck maps of an exported backend's latest batch, in :class:`~rolo.detection.neck.NeckHook`'s
    form (``maps``, ``spec``, ``strides``)."""

    def __init__(self, torch_model, spec):
        import numpy as np

        self.spec = spec
        head = torch_model.model[-1]
        stride = head.stride.cpu() if hasattr(head.stride, "cpu") else head.stride
        self.strides = tuple(int(s) for s in np.asarray(stride)[list(spec.levels)])
        self.maps: list = []

    def set(self, maps) -> None:
        from rolo.detection.neck import reduce_map, to_storage

        self.maps = [to_storage(reduce_map(m.float(), self.spec), self.spec.dtype) for m in maps]

    def remove(self) -> None:
        pass
