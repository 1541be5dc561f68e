# One job per (experiment, tracker) over all the experiment's test videos: tracking is light.


rule track:
    input:
        splits="results/{exp}/splits.json",
        features=exp_test_features,
        model=track_model,
    output:
        directory("results/{exp}/tracks/{tracker}"),
    params:
        videos=lambda wc: {v: feature_files(v) for v in test_videos(EXPERIMENTS[wc.exp])},
        # yolo_top ignores association settings: leave them out so changing them does not rerun it
        association=lambda wc: {} if wc.tracker == "yolo_top" else config["association"],
        code=code_hash("tracking"),
    conda:
        ENV
    log:
        "logs/track/{exp}/{tracker}.log",
    benchmark:
        "results/benchmarks/track/{exp}/{tracker}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../scripts/track.py"
