# Seed variation (target `variation`): ROLO retrained and re-scored for every training seed, and, on
# synthetic data, the whole workflow rerun for every data seed; mean and std per tracker.
# Training-seed variants reuse the main rules through `use rule ... with:`; data-seed variants are
# nested runs of this workflow in results/variation/data_seed<N>/ (new data means a new detector,
# new features, new models: everything).


use rule train_rolo as train_rolo_seed with:
    input:
        unpack(train_inputs),
    output:
        model=f"{VAR}/models/{{tracker}}.pt",
        loss=f"{VAR}/models/{{tracker}}_loss.csv",
    log:
        "logs/variation/train_rolo/{exp}_seed{seed}_{tracker}.log",
    benchmark:
        "results/benchmarks/variation/train_rolo/{exp}_seed{seed}_{tracker}.tsv"
    params:
        model=lambda wc: model_params(registry.spec(wc.tracker).model_kind),
        train=lambda wc: train_params(
            registry.spec(wc.tracker).model_kind, seed=wc.seed
        ),
        association=lambda wc: train_association(registry.spec(wc.tracker).model_kind),
        code=code_hash("tracking.training", "tracking.closed_loop_job"),


use rule track as track_seed with:
    input:
        unpack(seed_track_inputs),
    output:
        directory(f"{VAR}/tracks/{{tracker}}"),
    log:
        "logs/variation/track/{exp}_seed{seed}_{tracker}.log",
    benchmark:
        "results/benchmarks/variation/track/{exp}_seed{seed}_{tracker}.tsv"


use rule evaluate as evaluate_seed with:
    input:
        unpack(seed_evaluate_inputs),
    output:
        aos=f"{VAR}/aos.csv",
        md=f"{VAR}/aos.md",
        summary=f"{VAR}/summary.csv",
        curves=f"{VAR}/curves.csv",
        detector=f"{VAR}/detector.csv",
        speed=f"{VAR}/speed.csv",
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
    log:
        "logs/variation/train_seeds.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        tables=[(e, s) for e in EXPERIMENTS for s in TRAIN_SEEDS],
        data_seed=SYNTHETIC["seed"] if SYNTHETIC else None,
        code=code_hash("evaluation.tables"),
    script:
        "../scripts/variation_collect.py"


rule variation_data_seed:
    """The whole workflow, rerun on synthetic data generated from another seed (nested run)."""
    output:
        "results/variation/data_seed{data_seed}/results/variation/train_seeds.csv",
    log:
        "logs/variation/data_seed{data_seed}.log",
    benchmark:
        "results/benchmarks/variation/data_seed{data_seed}.tsv"
    conda:
        ENV
    threads: 2
    resources:
        gpu=1,
        mem_mb=4000,
        runtime=240,
    params:
        snakefile=str(REPO_DIR / "Snakefile"),
        config=lambda wc: {
            **config,
            "dataset": {
                **config["dataset"],
                "synthetic": {**SYNTHETIC, "seed": int(wc.data_seed)},
            },
            "variation": {"train_seeds": TRAIN_SEEDS, "data_seeds": []},
        },
    script:
        "../scripts/variation_nested.py"


rule variation:
    """Mean and std per (experiment, tracker) over training seeds x data seeds."""
    input:
        main="results/variation/train_seeds.csv",
        nested=expand(
            "results/variation/data_seed{data_seed}/results/variation/train_seeds.csv",
            data_seed=DATA_SEEDS,
        ),
    output:
        csv=report(
            "results/variation/summary.csv",
            caption="../report/variation.rst",
            category="Variation",
        ),
        md="results/variation/summary.md",
        paired=report(
            "results/variation/paired.csv",
            caption="../report/variation_paired.rst",
            category="Variation",
        ),
    log:
        "logs/variation/summary.log",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=code_hash("evaluation.tables"),
    script:
        "../scripts/variation_summary.py"
