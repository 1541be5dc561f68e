# Per experiment: every tracker's scores and curves, detector precision/recall, speed.


rule evaluate:
    input:
        unpack(evaluate_inputs),
    output:
        aos=f"{EXP}/aos.csv",
        md=f"{EXP}/aos.md",
        summary=f"{EXP}/summary.csv",
        curves=f"{EXP}/curves.csv",
        detector=f"{EXP}/detector.csv",
        speed=f"{EXP}/speed.csv",
        # the code (git commit) and config hash the tables were made with: written by the job at run
        # time, not a params value, so that a commit or an unrelated setting reruns nothing
        provenance=f"{EXP}/provenance.json",
    log:
        "logs/evaluate/{exp}.log",
    benchmark:
        "results/benchmarks/evaluate/{exp}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=code_hash("evaluation.tables"),
    script:
        "../scripts/evaluate.py"


rule html_tables:
    """summary.csv and aos.csv as HTML tables, which Snakemake's report shows in place."""
    input:
        summary=f"{EXP}/summary.csv",
        aos=f"{EXP}/aos.csv",
    output:
        summary=report(
            f"{EXP}/summary.html",
            caption="../report/summary.rst",
            category="{exp}",
            subcategory="Tables",
        ),
        aos=report(
            f"{EXP}/aos.html",
            caption="../report/aos.rst",
            category="{exp}",
            subcategory="Tables",
        ),
    log:
        "logs/html_tables/{exp}.log",
    benchmark:
        "results/benchmarks/html_tables/{exp}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        code=code_hash("evaluation.tables"),
    script:
        "../scripts/html_tables.py"


rule paper_comparison:
    input:
        f"{EXP}/aos.csv",
    output:
        csv=report(
            f"{EXP}/paper_comparison.csv",
            caption="../report/paper.rst",
            category="{exp}",
            subcategory="Paper",
        ),
        md=f"{EXP}/paper_comparison.md",
    log:
        "logs/paper_comparison/{exp}.log",
    benchmark:
        "results/benchmarks/paper_comparison/{exp}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        split=lambda wc: EXPERIMENTS[wc.exp]["split"],
        code=code_hash("evaluation.tables"),
        paper=data_hash(*PAPER_FILES),
    script:
        "../scripts/paper_comparison.py"


if SYNTHETIC:

    rule recovery:
        """Frames each tracker needs to overlap the target again after an occluder (synthetic data:
        the generator knows its occluders)."""
        input:
            unpack(recovery_inputs),
        output:
            csv=report(
                f"{EXP}/recovery.csv",
                caption="../report/recovery.rst",
                category="{exp}",
                subcategory="Recovery after occlusion",
            ),
            episodes=f"{EXP}/recovery_episodes.csv",
        log:
            "logs/recovery/{exp}.log",
        benchmark:
            "results/benchmarks/recovery/{exp}.tsv"
        conda:
            ENV
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        params:
            synthetic={k: v for k, v in SYNTHETIC.items() if k != "sequences"},
            attributes=lambda wc: {
                v: video_attributes(v) for v in test_videos(EXPERIMENTS[wc.exp])
            },
            code=code_hash("evaluation.recovery"),
        script:
            "../scripts/recovery.py"
