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


if DATASETS:

    rule source_sequence:
        """One per video of an extra dataset (config datasets): an OTB-layout view of links to its
        frames, its absent frames' boxes written 0,0,0,0 (rolo.data.sources); the copy is only read.
        """
        input:
            source=lambda wc: source_input(wc.dataset, wc.name),
        output:
            gt=f"{SOURCE_VIEWS}/{{dataset}}/{{name}}/groundtruth_rect.txt",
            img=directory(f"{SOURCE_VIEWS}/{{dataset}}/{{name}}/img"),
            source=f"{SOURCE_VIEWS}/{{dataset}}/{{name}}/{data_sources.SOURCE_JSON}",
        log:
            "logs/source_sequence/{dataset}/{name}.log",
        benchmark:
            "results/benchmarks/source_sequence/{dataset}/{name}.tsv"
        wildcard_constraints:
            dataset="|".join(DATASETS),
            name=r"[A-Za-z0-9_.-]+",
        localrule: True
        conda:
            ENV
        threads: 1
        resources:
            mem_mb=500,
            runtime=5,
        params:
            root=lambda wc: source_root(wc.dataset),
            frames=lambda wc: frames_identity(
                data_sources.video_id(wc.dataset, wc.name)
            ),
            # the ground truth and flag files beside the frames (LaSOT) or among them (GOT-10k)
            labels=lambda wc: folder_identity(source_input(wc.dataset, wc.name)),
            code=code_hash("data.sources"),
        script:
            "../scripts/source_sequence.py"


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
