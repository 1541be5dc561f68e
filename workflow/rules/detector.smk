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


# The per-experiment detector (an experiment's `detector: finetuned`, or the twin <exp>_ft of the
# `finetune` target): the workflow's detector fine-tuned, as a one-class "target" detector, on the
# labelled training frames of experiment {detector} only (its splits.json: train_labels). No scored
# frame's label is an input (tests/test_detector_per_experiment.py).


rule train_detector_ft:
    input:
        unpack(finetune_inputs),
    output:
        weights=f"{DETECTORS}/weights.pt",
        metrics=f"{DETECTORS}/train_metrics.json",
        curves=f"{DETECTORS}/results.csv",
    log:
        "logs/train_detector_ft/{detector}.log",
    benchmark:
        "results/benchmarks/train_detector_ft/{detector}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        gpu=1,
        mem_mb=int(
            2500
            + 8000 * (config["detector"]["imgsz"] / 640) ** 2 * FINETUNE["batch"] / 16
        ),
        runtime=120,
    params:
        # the start point: the workflow's detector (detector.model, or the one detector.train trains)
        model=lambda wc, input: (
            input.detector[0] if input.detector else detector_weights()
        ),
        scale=None if DETECTOR_TRAIN else config["detector"].get("scale"),
        train={**FINETUNE, "imgsz": config["detector"]["imgsz"]},
        work_dir=lambda wc: f"{DETECTORS.format(detector=wc.detector)}/work",
        code=code_hash("detection.detector", "data.splits"),
        frames=lambda wc: frames_of(train_videos(EXPERIMENTS[wc.detector])),
    script:
        "../scripts/train_detector.py"


# Target `finetune` (not part of the default run): per experiment of detector.finetune.compare, its
# twin <exp>_ft (same splits, its own fine-tuned detector) scored, and the two side by side: the
# detector's precision and recall on the scored frames, every tracker's success AUC.


rule finetune_comparison:
    input:
        base_summary=f"{EXP}/summary.csv",
        base_detector=f"{EXP}/detector.csv",
        tuned_summary="results/{exp}_ft/summary.csv",
        tuned_detector="results/{exp}_ft/detector.csv",
    output:
        csv=f"{FINETUNE_TABLES}.csv",
        md=f"{FINETUNE_TABLES}.md",
    log:
        "logs/finetune_comparison/{exp}.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=code_hash("detection.detector"),
    script:
        "../scripts/finetune_comparison.py"


rule finetune:
    input:
        finetune_targets(),
    localrule: True
