# One job per (experiment, tracker) over all the experiment's test videos: tracking is light.


rule track:
    input:
        splits="results/{exp}/splits.json",
        videos=track_inputs,
        model=track_model,
    output:
        directory("results/{exp}/tracks/{tracker}"),
    params:
        tracker=lambda wc: wc.tracker,
        videos=lambda wc: track_video_files(wc.exp, wc.tracker),
        # only trackers that associate detections depend on the association settings
        association=lambda wc: config["association"] if wc.tracker in ("yolo", *ROLO_KINDS) else {},
        code=code_hash("tracking"),
    conda:
        ENV
    log:
        "logs/track/{exp}/{tracker}.log",
    benchmark:
        "results/benchmarks/track/{exp}/{tracker}.tsv"
    threads: 1
    # peak RSS (demo, exp3): rolo 0.74 GB (torch), the others 0.08-0.12 GB. Trackers that read the
    # frames (csrt, kcf, mil) took up to 28 s there: OTB-30's ~4x larger frames and ~20x more of them
    # make that tens of minutes on one core
    resources:
        mem_mb=lambda wc: 1500 if wc.get("tracker", "rolo") in ROLO_KINDS else 500,
        runtime=lambda wc: 120 if "images" in TRACKER_INPUTS[wc.get("tracker", "rolo")] else 30,
    script:
        "../scripts/track.py"
