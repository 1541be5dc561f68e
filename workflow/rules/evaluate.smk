# Per experiment: AOS table of every tracker, detector precision/recall.


rule evaluate:
    input:
        splits="results/{exp}/splits.json",
        gts=exp_test_gts,
        tracks=expand("results/{{exp}}/tracks/{tracker}", tracker=TRACKERS),
        features=exp_test_features,
    output:
        aos="results/{exp}/aos.csv",
        md="results/{exp}/aos.md",
        detector="results/{exp}/detector.csv",
    params:
        dirs=lambda wc: {v: seq_dir(v) for v in test_videos(EXPERIMENTS[wc.exp])},
        tracks=lambda wc: {t: f"results/{wc.exp}/tracks/{t}" for t in TRACKERS},
        detections=lambda wc: {
            v: f"results/features/{v}/detections.npy" for v in test_videos(EXPERIMENTS[wc.exp])
        },
        code=code_hash("evaluation"),
    conda:
        ENV
    log:
        "logs/evaluate/{exp}.log",
    benchmark:
        "results/benchmarks/evaluate/{exp}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/evaluate.py"
