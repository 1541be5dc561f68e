# Detector training with Ultralytics' trainer (only when detector.train is set).

if DETECTOR_TRAIN:

    rule train_detector:
        input:
            gts=[seq_files(v)["gt"] for v in DETECTOR_TRAIN["sequences"] + DETECTOR_TRAIN["val"]],
            imgs=[seq_files(v)["img"] for v in DETECTOR_TRAIN["sequences"] + DETECTOR_TRAIN["val"]],
        output:
            weights="results/detector/weights.pt",
            metrics="results/detector/train_metrics.json",
        params:
            model=config["detector"]["model"],
            scale=config["detector"].get("scale"),
            train_dirs=[seq_dir(v) for v in DETECTOR_TRAIN["sequences"]],
            val_dirs=[seq_dir(v) for v in DETECTOR_TRAIN["val"]],
            train={**DETECTOR_TRAIN, "imgsz": config["detector"]["imgsz"]},
            work_dir="results/detector/work",
            code=code_hash("detector"),
        conda:
            ENV
        log:
            "logs/train_detector.log",
        benchmark:
            "results/benchmarks/train_detector.tsv"
        # 1 thread: what Ultralytics' trainer used on 2 cores before jobs pinned it (the demo's
        # 4 min and its tables); DataLoader workers (detector.train.workers) are processes besides.
        # Peak RSS grows with image size and batch: 1.3 GB for the demo (256 px, batch 16), 8.1 GB
        # for YOLOv8s at 640 px, batch 16 on CPU
        threads: 1
        resources:
            gpu=1,
            mem_mb=int(2500 + 8000 * (config["detector"]["imgsz"] / 640) ** 2 * DETECTOR_TRAIN.get("batch", 16) / 16),
            runtime=120,
        script:
            "../scripts/train_detector.py"
