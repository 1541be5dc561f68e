# Figures and videos from cached results: touching a figure's code reruns only figure jobs.


rule plot_curves:
    input:
        f"{EXP}/curves.csv",
    output:
        success_png=report(
            f"{FIG}/success_precision.png",
            caption="../report/success_precision.rst",
            category="{exp}",
            subcategory="Success and precision",
        ),
        success_pdf=f"{FIG}/success_precision.pdf",
        attributes_png=report(
            f"{FIG}/attributes.png",
            caption="../report/attributes.rst",
            category="{exp}",
            subcategory="Per attribute",
        ),
        attributes_pdf=f"{FIG}/attributes.pdf",
    log:
        "logs/plot_curves/{exp}.log",
    benchmark:
        "results/benchmarks/plot_curves/{exp}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        attributes=lambda wc: {
            v: video_attributes(v) for v in test_videos(EXPERIMENTS[wc.exp])
        },
        code=code_hash("figures.plots"),
    script:
        "../scripts/plot_curves.py"


rule plot_aos:
    input:
        f"{EXP}/aos.csv",
    output:
        png=report(
            f"{FIG}/aos_bars.png",
            caption="../report/aos_bars.rst",
            category="{exp}",
            subcategory="Per video",
        ),
        pdf=f"{FIG}/aos_bars.pdf",
    log:
        "logs/plot_aos/{exp}.log",
    benchmark:
        "results/benchmarks/plot_aos/{exp}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        code=code_hash("figures.plots"),
    script:
        "../scripts/plot_aos.py"


rule plot_loss:
    input:
        lambda wc: rolo_loss(wc.exp),
    output:
        png=report(
            f"{FIG}/loss.png",
            caption="../report/loss.rst",
            category="{exp}",
            subcategory="Training",
        ),
        pdf=f"{FIG}/loss.pdf",
    log:
        "logs/plot_loss/{exp}.log",
    benchmark:
        "results/benchmarks/plot_loss/{exp}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        code=code_hash("figures.plots"),
    script:
        "../scripts/plot_loss.py"


rule plot_panel:
    input:
        unpack(panel_inputs),
    output:
        png=report(
            f"{FIG}/panel.png",
            caption="../report/panel.rst",
            category="{exp}",
            subcategory="Qualitative",
        ),
        pdf=f"{FIG}/panel.pdf",
    log:
        "logs/plot_panel/{exp}.log",
    benchmark:
        "results/benchmarks/plot_panel/{exp}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=code_hash("figures.plots"),
        frames=lambda wc: frames_of(test_videos(EXPERIMENTS[wc.exp])),
    script:
        "../scripts/plot_panel.py"


rule render_video:
    input:
        unpack(video_inputs),
    output:
        report(
            f"{EXP}/videos/{{video}}.mp4",
            caption="../report/video.rst",
            category="{exp}",
            subcategory="Videos",
        ),
    log:
        "logs/render_video/{exp}/{video}.log",
    benchmark:
        "results/benchmarks/render_video/{exp}/{video}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=code_hash("figures.plots"),
        frames=lambda wc: frames_identity(wc.video),
    script:
        "../scripts/render_video.py"


rule plot_heatmap_strip:
    input:
        unpack(heatmap_inputs),
    output:
        png=report(
            f"{FIG}/heatmap_strip_{{video}}.png",
            caption="../report/heatmap_strip.rst",
            category="{exp}",
            subcategory="Heatmaps",
        ),
        pdf=f"{FIG}/heatmap_strip_{{video}}.pdf",
    log:
        "logs/plot_heatmap_strip/{exp}/{video}.log",
    benchmark:
        "results/benchmarks/plot_heatmap_strip/{exp}/{video}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        frames=HEATMAP_FIGURES.get("strip_frames", 12),
        code=code_hash("figures.plots"),
        images=lambda wc: frames_identity(wc.video),
    script:
        "../scripts/plot_heatmap.py"


rule plot_heatmap_pairs:
    input:
        unpack(heatmap_inputs),
    output:
        png=report(
            f"{FIG}/heatmap_pairs.png",
            caption="../report/heatmap_pairs.rst",
            category="{exp}",
            subcategory="Heatmaps",
        ),
        pdf=f"{FIG}/heatmap_pairs.pdf",
    log:
        "logs/plot_heatmap_pairs/{exp}.log",
    benchmark:
        "results/benchmarks/plot_heatmap_pairs/{exp}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        pairs=HEATMAP_FIGURES.get("pairs", 6),
        code=code_hash("figures.plots"),
        images=lambda wc: frames_of(test_videos(EXPERIMENTS[wc.exp])),
    script:
        "../scripts/plot_heatmap.py"


rule plot_recovery:
    input:
        episodes=f"{EXP}/recovery_episodes.csv",
    output:
        png=report(
            f"{FIG}/recovery.png",
            caption="../report/recovery_figure.rst",
            category="{exp}",
            subcategory="Recovery after occlusion",
        ),
        pdf=f"{FIG}/recovery.pdf",
    log:
        "logs/plot_recovery/{exp}.log",
    benchmark:
        "results/benchmarks/plot_recovery/{exp}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        code=code_hash("figures.plots"),
    script:
        "../scripts/plot_recovery.py"
