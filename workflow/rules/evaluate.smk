# Per experiment: every tracker's scores and curves, detector precision/recall, speed.


rule evaluate:
    input:
        splits="results/{exp}/splits.json",
        gts=exp_test_gts,
        tracks=expand("results/{{exp}}/tracks/{tracker}", tracker=TRACKERS),
        features=exp_test_features,
    output:
        aos="results/{exp}/aos.csv",
        md="results/{exp}/aos.md",
        summary="results/{exp}/summary.csv",
        curves="results/{exp}/curves.csv",
        detector="results/{exp}/detector.csv",
        speed="results/{exp}/speed.csv",
    params:
        dirs=lambda wc: {v: seq_dir(v) for v in test_videos(EXPERIMENTS[wc.exp])},
        tracks=lambda wc: {t: f"results/{wc.exp}/tracks/{t}" for t in TRACKERS},
        detections=lambda wc: {
            v: f"results/features/{v}/detections.npy" for v in test_videos(EXPERIMENTS[wc.exp])
        },
        metas=lambda wc: {v: f"results/features/{v}/meta.json" for v in test_videos(EXPERIMENTS[wc.exp])},
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


rule paper_comparison:
    input:
        "results/{exp}/aos.csv",
    output:
        csv=report("results/{exp}/paper_comparison.csv", caption="../report/paper.rst", category="{exp}", subcategory="Paper"),
        md="results/{exp}/paper_comparison.md",
    params:
        protocol=lambda wc: EXPERIMENTS[wc.exp]["protocol"],
        code=code_hash("evaluation"),
        paper=data_hash(*PAPER_FILES),
    conda:
        ENV
    log:
        "logs/paper_comparison/{exp}.log",
    benchmark:
        "results/benchmarks/paper_comparison/{exp}.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/paper_comparison.py"
