# Sweeps on one experiment (config `sweeps`): LSTM steps and training epochs, per model kind.
# Steps: one model per value, trained by train_rolo (the rule of the trackers' models, so the value
# rolo.steps is shared with them). Epochs: one training run per kind, cut into resumable segments
# at the listed epoch counts (each segment continues the previous one's checkpoint; n then m more
# epochs give the weights of n + m in one go), so appending a larger count trains only the new
# segment. Every setting is tracked and scored like the trackers, under the experiment's protocol.
# The sweeps are reported, never used to choose the defaults.


use rule train_rolo as train_epochs with:
    input:
        splits="results/{exp}/splits.json",
        data=exp_train_inputs,
        previous=previous_epoch_model,
    output:
        model="results/{exp}/sweeps/models/{kind}_s{steps}_e{epochs}.pt",
        loss="results/{exp}/sweeps/models/{kind}_s{steps}_e{epochs}_loss.csv",
    params:
        videos=lambda wc: {v: feature_files(v) + [seq_dir(v)] for v in train_videos(EXPERIMENTS[wc.exp])},
        model=lambda wc: {"kind": wc.kind, "steps": int(wc.steps)}
        | {k: config["rolo"][k] for k in ("hidden", "layers", "output")},
        train=lambda wc: {k: config["rolo"][k] for k in ("batch", "lr", "seed")} | {"epochs": int(wc.epochs)},
        association=config["association"],
        resumable=True,
        code=code_hash("training"),
    log:
        "logs/train_epochs/{exp}/{kind}_s{steps}_e{epochs}.log",
    benchmark:
        "results/benchmarks/train_epochs/{exp}/{kind}_s{steps}_e{epochs}.tsv"


rule track_setting:
    input:
        splits="results/{exp}/splits.json",
        videos=lambda wc: track_input_files(wc.exp, "rolo"),
        model=setting_model,
    output:
        directory("results/{exp}/sweeps/tracks/{setting}"),
    params:
        tracker=lambda wc: {v: k for k, v in ROLO_KINDS.items()}[parse_setting(wc.setting)["kind"]],
        videos=lambda wc: track_video_files(wc.exp, "rolo"),
        association=config["association"],
        code=code_hash("tracking"),
    conda:
        ENV
    log:
        "logs/track_setting/{exp}/{setting}.log",
    benchmark:
        "results/benchmarks/track_setting/{exp}/{setting}.tsv"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=30,
    script:
        "../scripts/track.py"


rule evaluate_sweeps:
    input:
        splits="results/{exp}/splits.json",
        gts=exp_test_gts,
        tracks=lambda wc: [d for part in sweep_settings(wc.exp) for d in part.values()],
    output:
        aos="results/{exp}/sweep_aos.csv",
        steps=report("results/{exp}/sweep_steps.csv", caption="../report/sweeps.rst", category="{exp}", subcategory="Sweeps"),
        epochs=report("results/{exp}/sweep_epochs.csv", caption="../report/sweeps.rst", category="{exp}", subcategory="Sweeps"),
        md="results/{exp}/sweeps.md",
    params:
        dirs=lambda wc: {v: seq_dir(v) for v in test_videos(EXPERIMENTS[wc.exp])},
        steps=lambda wc: sweep_settings(wc.exp)[0],
        epochs=lambda wc: sweep_settings(wc.exp)[1],
        default_epochs=config["rolo"]["epochs"],
        code=code_hash("evaluation"),
    conda:
        ENV
    log:
        "logs/evaluate_sweeps/{exp}.log",
    benchmark:
        "results/benchmarks/evaluate_sweeps/{exp}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/evaluate_sweeps.py"


rule plot_sweeps:
    input:
        steps="results/{exp}/sweep_steps.csv",
        aos="results/{exp}/sweep_aos.csv",
    output:
        steps_png=report(f"{FIG}/sweep_steps.png", caption="../report/sweep_steps.rst", category="{exp}", subcategory="Sweeps"),
        steps_pdf=f"{FIG}/sweep_steps.pdf",
        aos_png=report(f"{FIG}/sweep_aos.png", caption="../report/sweep_aos.rst", category="{exp}", subcategory="Sweeps"),
        aos_pdf=f"{FIG}/sweep_aos.pdf",
    params:
        code=code_hash("plots"),
    conda:
        ENV
    log:
        "logs/plot_sweeps/{exp}.log",
    benchmark:
        "results/benchmarks/plot_sweeps/{exp}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/plot_sweeps.py"
