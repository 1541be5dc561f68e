# One job per video: one forward pass per frame batch gives detections and backbone features.


rule extract_features:
    input:
        img=lambda wc: sequence_files(wc.video)["img"],
        detector=extraction_detector,
    output:
        # the neck maps, when extraction.neck is set (one array per level and neck.json)
        **neck_files("{video}"),
        features=f"{FEATURES}/features.npy",
        detections=f"{FEATURES}/detections.npy",
        meta=f"{FEATURES}/meta.json",
    log:
        "logs/extract_features/{video}.log",
    benchmark:
        "results/benchmarks/extract_features/{video}.tsv"
    conda:
        ENV
    threads: 2
    # peak RSS 1.0 GB (demo: 256 px); 2.8 GB for YOLOv8s at 640 px, batch 16, 2 decoding workers
    # (0.4 s a frame on 2 CPU cores, so OTB's longest videos fit the hour even without a GPU)
    resources:
        gpu=1,
        mem_mb=4000,
        runtime=60,
    params:
        detector=lambda wc, input: (
            input.detector[0] if input.detector else detector_weights()
        ),
        # a trained or fine-tuned detector is a weights file, which carries its scale
        scale=lambda wc: (
            None
            if DETECTOR_TRAIN or "detector" in wc.keys()
            else config["detector"].get("scale")
        ),
        extraction={**config["extraction"], "imgsz": config["detector"]["imgsz"]},
        code=code_hash("detection.extraction"),
        frames=lambda wc: frames_identity(wc.video),
    script:
        "../scripts/extract_features.py"


# The same per (fine-tuned detector, video): experiments sharing a detector share its extraction.
use rule extract_features as extract_features_ft with:
    output:
        **neck_files("{video}", "{detector}"),
        features=f"{FT_FEATURES}/features.npy",
        detections=f"{FT_FEATURES}/detections.npy",
        meta=f"{FT_FEATURES}/meta.json",
    log:
        "logs/extract_features_ft/{detector}/{video}.log",
    benchmark:
        "results/benchmarks/extract_features_ft/{detector}/{video}.tsv"
