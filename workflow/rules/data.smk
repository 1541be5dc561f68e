# Sequences. Real OTB data is read from dataset.root; the demo generates synthetic sequences there.

if SYNTHETIC:

    rule synthesize:
        output:
            gt=f"{DATA}/{{video}}/groundtruth_rect.txt",
            img=directory(f"{DATA}/{{video}}/img"),
            attributes=f"{DATA}/{{video}}/attributes.json",
        log:
            "logs/synthesize/{video}.log",
        benchmark:
            "results/benchmarks/synthesize/{video}.tsv"
        conda:
            ENV
        threads: 1
        resources:
            mem_mb=500,
            runtime=5,
        params:
            challenges=lambda wc: SYNTHETIC["sequences"][wc.video],
            generator={k: v for k, v in SYNTHETIC.items() if k != "sequences"},
            code=code_hash("data.synthetic"),
        script:
            "../scripts/synthesize.py"


rule splits:
    """Once per experiment: each video's training frames, start frame and box, scored frames."""
    input:
        unpack(experiment_sequences),
    output:
        SPLITS_JSON,
    log:
        "logs/splits/{exp}.log",
    benchmark:
        "results/benchmarks/splits/{exp}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        experiment=lambda wc: EXPERIMENTS[wc.exp],
        code=code_hash("data.splits"),
    script:
        "../scripts/splits.py"
