# Sweeps on one experiment (config `sweeps`): LSTM steps and training epochs, per model kind.
# Steps: one model per value, trained by train_rolo (the rule of the trackers' models, so the value
# rolo.steps is shared with them). Epochs: one training run per kind, cut into resumable segments
# at the listed epoch counts (each segment continues the previous one's checkpoint; n then m more
# epochs give the weights of n + m in one go), so appending a larger count trains only the new
# segment. Every setting is tracked and scored like the trackers, under the experiment's split.
# The sweeps are reported, never used to choose the defaults.


use rule train_rolo as train_epochs with:
    input:
        unpack(epoch_train_inputs),
    output:
        model=f"{SWEEP_MODELS}/{{kind}}_s{{steps}}_e{{epochs}}.pt",
        loss=f"{SWEEP_MODELS}/{{kind}}_s{{steps}}_e{{epochs}}_loss.csv",
    log:
        "logs/train_epochs/{exp}/{kind}_s{steps}_e{epochs}.log",
    benchmark:
        "results/benchmarks/train_epochs/{exp}/{kind}_s{steps}_e{epochs}.tsv"
    params:
        model=lambda wc: model_params(wc.kind, wc.steps),
        train=lambda wc: train_params(wc.kind, epochs=wc.epochs),
        association=config["association"],
        resumable=True,
        code=code_hash("tracking.training", "tracking.closed_loop_job"),


rule track_setting:
    input:
        unpack(setting_inputs),
    output:
        directory(SWEEP_TRACKS),
    log:
        "logs/track_setting/{exp}/{setting}.log",
    benchmark:
        "results/benchmarks/track_setting/{exp}/{setting}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1500,
        runtime=30,
    params:
        tracker=lambda wc: setting_tracker(wc.setting),
        association=config["association"],
        code=lambda wc: tracker_code(setting_tracker(wc.setting)),
    script:
        "../scripts/track.py"


rule evaluate_sweeps:
    input:
        unpack(sweep_inputs),
    output:
        aos=f"{EXP}/sweep_aos.csv",
        steps=report(
            f"{EXP}/sweep_steps.csv",
            caption="../report/sweeps.rst",
            category="{exp}",
            subcategory="Sweeps",
        ),
        epochs=report(
            f"{EXP}/sweep_epochs.csv",
            caption="../report/sweeps.rst",
            category="{exp}",
            subcategory="Sweeps",
        ),
        md=f"{EXP}/sweeps.md",
    log:
        "logs/evaluate_sweeps/{exp}.log",
    benchmark:
        "results/benchmarks/evaluate_sweeps/{exp}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        steps=lambda wc: list(sweep_settings(wc.exp)[0]),
        epochs=lambda wc: list(sweep_settings(wc.exp)[1]),
        default_epochs=config["rolo"]["epochs"],
        code=code_hash("evaluation.tables"),
    script:
        "../scripts/evaluate_sweeps.py"


rule plot_sweeps:
    input:
        steps=f"{EXP}/sweep_steps.csv",
        aos=f"{EXP}/sweep_aos.csv",
    output:
        steps_png=report(
            f"{FIG}/sweep_steps.png",
            caption="../report/sweep_steps.rst",
            category="{exp}",
            subcategory="Sweeps",
        ),
        steps_pdf=f"{FIG}/sweep_steps.pdf",
        aos_png=report(
            f"{FIG}/sweep_aos.png",
            caption="../report/sweep_aos.rst",
            category="{exp}",
            subcategory="Sweeps",
        ),
        aos_pdf=f"{FIG}/sweep_aos.pdf",
    log:
        "logs/plot_sweeps/{exp}.log",
    benchmark:
        "results/benchmarks/plot_sweeps/{exp}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        code=code_hash("figures.plots"),
    script:
        "../scripts/plot_sweeps.py"
