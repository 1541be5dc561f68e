# One ROLO model per (experiment, model kind, steps): the trackers use rolo.steps, the steps sweep the others.


rule train_rolo:
    input:
        splits="results/{exp}/splits.json",
        data=exp_train_inputs,
    output:
        model="results/{exp}/models/{kind}_s{steps}.pt",
        loss="results/{exp}/models/{kind}_s{steps}_loss.csv",
    params:
        videos=lambda wc: {
            v: feature_files(v) + [seq_dir(v)] for v in train_videos(EXPERIMENTS[wc.exp])
        },
        model=lambda wc: {"kind": wc.kind, "steps": int(wc.steps)}
        | {k: config["rolo"][k] for k in ("hidden", "layers", "output")},
        train=lambda wc: {k: config["rolo"][k] for k in ("epochs", "batch", "lr", "seed")},
        association=config["association"],
        code=code_hash("training"),
    conda:
        ENV
    log:
        "logs/train_rolo/{exp}/{kind}_s{steps}.log",
    benchmark:
        "results/benchmarks/train_rolo/{exp}/{kind}_s{steps}.tsv"
    threads: 2
    # peak RSS 0.8 GB (demo, CPU); headroom for a CUDA context
    resources:
        gpu=1,
        mem_mb=2500,
        runtime=60,
    script:
        "../scripts/train_rolo.py"
