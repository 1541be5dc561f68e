# One job per (experiment, tracker) over all the experiment's test videos: tracking is light.


rule track:
    input:
        unpack(track_inputs),
    output:
        directory(TRACKS),
    log:
        "logs/track/{exp}/{tracker}.log",
    benchmark:
        "results/benchmarks/track/{exp}/{tracker}.tsv"
    conda:
        ENV
    threads: 1
    # peak RSS (demo, exp3): rolo 0.74 GB (torch), the others 0.08-0.12 GB. Trackers that read the
    # frames (csrt, kcf, mil) took up to 28 s there: OTB-30's ~4x larger frames and ~20x more of them
    # make that tens of minutes on one core
    resources:
        mem_mb=lambda wc: (
            1500 if registry.spec(wc.get("tracker", "rolo")).model_kind else 500
        ),
        runtime=lambda wc: (
            120 if "images" in registry.spec(wc.get("tracker", "rolo")).inputs else 30
        ),
    params:
        tracker=lambda wc: wc.tracker,
        # only trackers that associate detections depend on the association settings
        association=lambda wc: association_settings(wc.tracker),
        code=lambda wc: tracker_code(wc.tracker),
        frames=lambda wc: tracker_frames(wc.exp, wc.tracker),
    script:
        "../scripts/track.py"
