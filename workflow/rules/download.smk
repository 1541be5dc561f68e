# Real OTB-2015 (dataset.otb) and detector weights: everything fetched from the network, as local jobs.
#
# download_otb   one job per sequence folder (98 for the 100 sequences: Jogging and Skating2 hold two
#                targets) from <dataset.otb.base_url>/<Folder>.zip; not defined when
#                dataset.otb.otb_root names a local copy. Retries, archive check, safe extraction and
#                the atomic finish are rolo.data.download's. Downloads read their URL and retry settings
#                from the config, not from params, so switching mirrors re-downloads nothing.
# otb_sequence   one job per sequence: its scored frames (catalog range, protocol) as a plain
#                OTB-layout folder of links, read by every later rule like the demo's sequences.
# fetch_weights  the detector weights detector.model (a .pt) from detector.url, once, before any extraction.

if OTB:
    if not OTB_LOCAL:

        rule download_otb:
            output:
                directory(f"{DATA}/{{folder}}"),
            log:
                "logs/download_otb/{folder}.log",
            benchmark:
                "results/benchmarks/download_otb/{folder}.tsv"
            wildcard_constraints:
                folder="|".join(
                    sorted({find_entry(v).folder for v in main_video_set()})
                )
                or "^$",
            localrule: True
            conda:
                ENV
            threads: 1
            resources:
                mem_mb=500,
                runtime=30,
            script:
                "../scripts/download_otb.py"

    rule otb_sequence:
        input:
            source=lambda wc: otb_source(wc.video),
        output:
            gt=f"{SEQUENCES}/{{video}}/groundtruth_rect.txt",
            img=directory(f"{SEQUENCES}/{{video}}/img"),
            meta=f"{SEQUENCES}/{{video}}/sequence.json",
        log:
            "logs/otb_sequence/{video}.log",
        benchmark:
            "results/benchmarks/otb_sequence/{video}.tsv"
        localrule: True
        conda:
            ENV
        threads: 1
        resources:
            mem_mb=500,
            runtime=5,
        params:
            # the entry decides the frames: a catalog change reruns only the sequences it touches
            entry=lambda wc: vars(find_entry(wc.video)),
            protocol=OTB_PROTOCOL,
        script:
            "../scripts/download_link_sequence.py"


if config["detector"].get("url") and config["detector"]["model"].endswith(".pt"):

    rule fetch_weights:
        output:
            config["detector"]["model"],
        log:
            "logs/fetch_weights.log",
        benchmark:
            "results/benchmarks/fetch_weights.tsv"
        localrule: True
        conda:
            ENV
        threads: 1
        resources:
            mem_mb=500,
            runtime=30,
        params:
            sha256=config["detector"].get("sha256"),
        script:
            "../scripts/download_weights.py"
