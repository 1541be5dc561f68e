# One ROLO model per (experiment, model kind, steps): the trackers use rolo.steps, the steps sweep the others.


rule train_rolo:
    input:
        unpack(train_inputs),
    output:
        model=f"{MODELS}/{{kind}}_s{{steps}}.pt",
        loss=f"{MODELS}/{{kind}}_s{{steps}}_loss.csv",
    log:
        "logs/train_rolo/{exp}/{kind}_s{steps}.log",
    benchmark:
        "results/benchmarks/train_rolo/{exp}/{kind}_s{steps}.tsv"
    conda:
        ENV
    threads: 2
    # peak RSS 0.8 GB (demo, CPU); headroom for a CUDA context
    resources:
        gpu=1,
        mem_mb=2500,
        runtime=60,
    params:
        model=lambda wc: model_params(wc.kind, wc.steps),
        train=lambda wc: train_params(wc.kind),
        association=lambda wc: train_association(wc.kind),
        code=code_hash("tracking.training", "tracking.closed_loop_job"),
    script:
        "../scripts/train_rolo.py"
