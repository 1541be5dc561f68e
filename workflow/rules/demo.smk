# `rolo track` on one test video of an experiment, as a user runs it on their own video (docs/track.md):
# the experiment's model, from the split's start box, over the video's test segment, with the detector
# running online frame by frame. Target: `snakemake track_demo --configfile config/demo.yaml --cores 2`
# (config track_demo.experiment / track_demo.video; default: the first experiment's first test video).
from rolo.tracking.live import track_demo_choice


rule track_demo_video:
    input:
        splits=SPLITS_JSON,
        img=lambda wc: sequence_files(wc.video)["img"],
        model=lambda wc: rolo_model(wc.exp, registry.spec("rolo").model_kind),
        detector=lambda wc: experiment_detector_input(wc.exp),
    output:
        csv=f"{EXP}/demo/{{video}}.csv",
        mp4=f"{EXP}/demo/{{video}}.mp4",
        png=f"{EXP}/demo/{{video}}.png",
    log:
        "logs/track_demo/{exp}/{video}.log",
    benchmark:
        "results/benchmarks/track_demo/{exp}/{video}.tsv"
    conda:
        ENV
    # as many threads as extract_features: the same batches on the same threads give the pipeline's
    # features bit for bit, hence its track
    threads: 2
    resources:
        gpu=1,
        mem_mb=2000,
        runtime=30,
    params:
        # None: the detector the checkpoint records
        detector=lambda wc, input: input.detector[0] if input.detector else None,
        extraction=config["extraction"],
        code=code_hash("tracking.live"),
        frames=lambda wc: frames_identity(wc.video),
    script:
        "../scripts/track_demo.py"


rule track_demo:
    input:
        lambda wc: expand(
            "results/{choice[0]}/demo/{choice[1]}.{ext}",
            choice=[track_demo_choice(config.get("track_demo"), EXPERIMENTS)],
            ext=["mp4", "csv", "png"],
        ),
    localrule: True
