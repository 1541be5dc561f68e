# Detector training with Ultralytics' trainer (only when detector.train is set).

if DETECTOR_TRAIN:

    rule train_detector:
        input:
            unpack(
                lambda wc: sequences_of(
                    DETECTOR_TRAIN["sequences"] + DETECTOR_TRAIN["val"]
                )
            ),
        output:
            weights=DETECTOR_WEIGHTS,
            metrics="results/detector/train_metrics.json",
            # Ultralytics' per-epoch table (losses, precision, recall, mAP)
            curves="results/detector/results.csv",
        log:
            "logs/train_detector.log",
        benchmark:
            "results/benchmarks/train_detector.tsv"
        conda:
            ENV
        # 1 thread: what Ultralytics' trainer used on 2 cores before jobs pinned it (the demo's
        # 4 min and its tables); DataLoader workers (detector.train.workers) are processes besides.
        # Peak RSS grows with image size and batch: 1.3 GB for the demo (256 px, batch 16), 8.1 GB
        # for YOLOv8s at 640 px, batch 16 on CPU
        threads: 1
        resources:
            gpu=1,
            mem_mb=int(
                2500
                + 8000
                * (config["detector"]["imgsz"] / 640) ** 2
                * DETECTOR_TRAIN.get("batch", 16)
                / 16
            ),
            runtime=120,
        params:
            model=config["detector"]["model"],
            scale=config["detector"].get("scale"),
            sequences=DETECTOR_TRAIN["sequences"],
            val=DETECTOR_TRAIN["val"],
            train={**DETECTOR_TRAIN, "imgsz": config["detector"]["imgsz"]},
            work_dir="results/detector/work",
            code=code_hash("detection.detector"),
            frames=frames_of(DETECTOR_TRAIN["sequences"] + DETECTOR_TRAIN["val"]),
        script:
            "../scripts/train_detector.py"
