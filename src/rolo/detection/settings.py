"""The extraction settings (``extraction.*`` of the config), in a module without heavy imports: the
CLI builds its defaults from it without loading OpenCV or torch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rolo.detection.neck import NeckSpec


@dataclass(frozen=True)
class ExtractionParams:
    imgsz: int = 640
    batch: int = 16  # frames per forward pass on CUDA
    conf: float = 0.05  # NMS confidence floor; association applies its own thresholds
    iou: float = 0.7  # NMS IoU
    max_det: int = 10  # K detections kept per frame
    agnostic: bool = True  # class-agnostic NMS: one box per object whatever its class
    workers: int = 2  # background decoding processes on CUDA
    device: str | None = None  # None: CUDA when present, else CPU
    # frames per forward pass on CPU (None: ``batch``). One 640 px frame's activations fit in the CPU's
    # cache, a batch's spill to RAM: YOLOv8s at 640 px on 2 cores runs about 1.5x faster a frame at 1
    # than at 16 (BENCHMARKS.md). A frame's outputs may differ in the last bits between batch sizes
    # (YOLOv8s at 640 px: identical; the demo's small model at 160-256 px: ~1e-15).
    cpu_batch: int | None = None
    # background decoding processes on CPU (None: ``workers``). 0 decodes in the main process between
    # forward passes: on a CPU the forward pass already uses every core the job has, and decoding processes
    # competing for them made extraction 10-20 % slower on 2 cores (BENCHMARKS.md); the outputs are the same
    cpu_workers: int | None = 0
    # channels-last memory format for the detector: 1.2x faster on a 2-core CPU (BENCHMARKS.md), but other
    # convolution kernels run, so outputs differ from the default layout in the last float bits: opt-in
    channels_last: bool = False
    # how the detector runs (rolo.detection.backends): torch (eager, unfused; the default, bit-identical to
    # extraction before backends existed), torch_fused, onnxruntime, openvino. A fixed setting, never chosen
    # at run time; the paths other than torch change outputs in the last float bits (docs/backends.md)
    backend: str = "torch"
    # the Detect head's input maps kept per frame (rolo.detection.neck), captured in the same forward
    # pass: None (default) keeps none; the closed-loop ROLO reads them
    neck: "NeckSpec | None" = None
    # the stored dtype of the pooled features (features.npy): float32, or float16 (half the disk; the
    # features are rounded where they are computed, so rolo track, which reads the model's record of this
    # setting, rounds its live features the same way). Detections stay float32
    features_dtype: str = "float32"

    @classmethod
    def from_config(cls, extraction: dict, **overrides) -> "ExtractionParams":
        """The settings of a config's ``extraction`` section (missing keys: the defaults above, which
        the config schema repeats for its documentation; a test keeps them equal)."""
        import dataclasses

        from rolo.detection.neck import NeckSpec

        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(extraction) - known)
        if unknown:
            raise ValueError(f"extraction.{unknown[0]}: not an extraction setting; known: {', '.join(sorted(known))}")
        settings = {**extraction, **overrides}
        if isinstance(settings.get("neck"), dict):
            neck = settings["neck"]
            settings["neck"] = NeckSpec(tuple(neck.get("levels", NeckSpec.levels)), int(neck.get("channel_group", 1)))
        from rolo.detection.backends import check_backend

        check_backend(settings.get("backend", cls.backend))
        check_features_dtype(settings.get("features_dtype", cls.features_dtype))
        return cls(**settings)

    def forward_batch(self, device) -> int:
        """Frames per forward pass on ``device`` (a ``torch.device``)."""
        if device.type == "cuda" or self.cpu_batch is None:
            return self.batch
        return self.cpu_batch

    def decode_workers(self, device) -> int:
        """Background decoding processes on ``device`` (a ``torch.device``)."""
        if device.type == "cuda" or self.cpu_workers is None:
            return self.workers
        return self.cpu_workers


FEATURES_DTYPES = ("float32", "float16")


def check_features_dtype(value) -> str:
    """``extraction.features_dtype``: one of :data:`FEATURES_DTYPES`, else a one-line error."""
    from rolo.errors import RoloInputError

    if value not in FEATURES_DTYPES:
        raise RoloInputError(f"extraction.features_dtype: {value!r} is not one of {', '.join(FEATURES_DTYPES)}")
    return value
