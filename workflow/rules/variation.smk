# Seed variation (target `variation`): ROLO retrained and re-scored for every training seed, and, on
# synthetic data, the whole workflow rerun for every data seed; mean and std per tracker.
# Training-seed variants reuse the main rules through `use rule ... with:`; data-seed variants are
# nested runs of this workflow in results/variation/data_seed<N>/ (new data means a new detector,
# new features, new models: everything).



use rule train_rolo as train_rolo_seed with:
    output:
        model=f"{VAR}/models/rolo.pt",
        loss=f"{VAR}/models/rolo_loss.csv",
    params:
        videos=lambda wc: {v: feature_files(v) + [seq_dir(v)] for v in train_videos(EXPERIMENTS[wc.exp])},
        model={k: config["rolo"][k] for k in ("steps", "hidden", "layers", "output")},
        train=lambda wc: {**{k: config["rolo"][k] for k in ("epochs", "batch", "lr")}, "seed": int(wc.seed)},
        association=config["association"],
        code=code_hash("training"),
    log:
        "logs/variation/train_rolo/{exp}_seed{seed}.log",
    benchmark:
        "results/benchmarks/variation/train_rolo/{exp}_seed{seed}.tsv"


use rule track as track_seed with:
    input:
        splits="results/{exp}/splits.json",
        videos=lambda wc: track_input_files(wc.exp, "rolo"),
        model=[f"{VAR}/models/rolo.pt"],
    output:
        directory(f"{VAR}/tracks/rolo"),
    params:
        tracker="rolo",
        videos=lambda wc: track_video_files(wc.exp, "rolo"),
        association=config["association"],
        code=code_hash("tracking"),
    log:
        "logs/variation/track/{exp}_seed{seed}.log",
    benchmark:
        "results/benchmarks/variation/track/{exp}_seed{seed}.tsv"


use rule evaluate as evaluate_seed with:
    input:
        splits="results/{exp}/splits.json",
        gts=exp_test_gts,
        tracks=lambda wc: list(seed_track_dirs(wc).values()),
        features=exp_test_features,
    output:
        aos=f"{VAR}/aos.csv",
        md=f"{VAR}/aos.md",
        summary=f"{VAR}/summary.csv",
        curves=f"{VAR}/curves.csv",
        detector=f"{VAR}/detector.csv",
        speed=f"{VAR}/speed.csv",
    params:
        dirs=lambda wc: {v: seq_dir(v) for v in test_videos(EXPERIMENTS[wc.exp])},
        tracks=seed_track_dirs,
        detections=lambda wc: {v: f"results/features/{v}/detections.npy" for v in test_videos(EXPERIMENTS[wc.exp])},
        metas=lambda wc: {v: f"results/features/{v}/meta.json" for v in test_videos(EXPERIMENTS[wc.exp])},
        code=code_hash("evaluation"),
    log:
        "logs/variation/evaluate/{exp}_seed{seed}.log",
    benchmark:
        "results/benchmarks/variation/evaluate/{exp}_seed{seed}.tsv"


rule variation_train_seeds:
    """Every experiment's ALL rows for every training seed, in one long table."""
    input:
        expand(f"{VAR}/aos.csv", exp=list(EXPERIMENTS), seed=TRAIN_SEEDS),
    output:
        "results/variation/train_seeds.csv",
    params:
        tables=[(e, s, f"results/{e}/variation/seed{s}/aos.csv") for e in EXPERIMENTS for s in TRAIN_SEEDS],
        data_seed=SYNTHETIC["seed"] if SYNTHETIC else None,
        code=code_hash("evaluation"),
    conda:
        ENV
    log:
        "logs/variation/train_seeds.log",
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/variation_collect.py"


rule variation_data_seed:
    """The whole workflow, rerun on synthetic data generated from another seed (nested run)."""
    output:
        "results/variation/data_seed{data_seed}/results/variation/train_seeds.csv",
    params:
        snakefile=str(REPO_DIR / "Snakefile"),
        config=lambda wc: {
            **config,
            "dataset": {**config["dataset"], "synthetic": {**SYNTHETIC, "seed": int(wc.data_seed)}},
            "variation": {"train_seeds": TRAIN_SEEDS, "data_seeds": []},
        },
    conda:
        ENV
    log:
        "logs/variation/data_seed{data_seed}.log",
    benchmark:
        "results/benchmarks/variation/data_seed{data_seed}.tsv"
    threads: 2
    resources:
        gpu=1,
        mem_mb=4000,
        runtime=240,
    script:
        "../scripts/variation_nested.py"


rule variation:
    """Mean and std per (experiment, tracker) over training seeds x data seeds."""
    input:
        main="results/variation/train_seeds.csv",
        nested=expand("results/variation/data_seed{data_seed}/results/variation/train_seeds.csv", data_seed=DATA_SEEDS),
    output:
        csv=report("results/variation/summary.csv", caption="../report/variation.rst", category="Variation"),
        md="results/variation/summary.md",
    params:
        code=code_hash("evaluation"),
    conda:
        ENV
    log:
        "logs/variation/summary.log",
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/variation_summary.py"
