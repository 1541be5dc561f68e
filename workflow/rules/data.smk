# Sequences. Real OTB data is read from dataset.root; the demo generates synthetic sequences there.

if SYNTHETIC:

    rule synthesize:
        output:
            gt=f"{DATA}/{{video}}/groundtruth_rect.txt",
            img=directory(f"{DATA}/{{video}}/img"),
            attributes=f"{DATA}/{{video}}/attributes.json",
        params:
            challenges=lambda wc: SYNTHETIC["sequences"][wc.video],
            generator={k: v for k, v in SYNTHETIC.items() if k != "sequences"},
            code=code_hash("synthetic"),
        conda:
            ENV
        log:
            "logs/synthesize/{video}.log",
        benchmark:
            "results/benchmarks/synthesize/{video}.tsv"
        threads: 1
        resources:
            mem_mb=500,
            runtime=5,
        script:
            "../scripts/synthesize.py"


rule splits:
    """Once per experiment: each video's training frames, start frame and box, scored frames."""
    input:
        gts=lambda wc: [seq_files(v)["gt"] for v in experiment_videos(EXPERIMENTS[wc.exp])],
    output:
        "results/{exp}/splits.json",
    params:
        experiment=lambda wc: EXPERIMENTS[wc.exp],
        dirs=lambda wc: {v: seq_dir(v) for v in experiment_videos(EXPERIMENTS[wc.exp])},
        code=code_hash("experiments"),
    conda:
        ENV
    log:
        "logs/splits/{exp}.log",
    benchmark:
        "results/benchmarks/splits/{exp}.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/splits.py"
