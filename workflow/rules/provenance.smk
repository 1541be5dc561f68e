# Per experiment, results/<exp>/provenance.json: the code (git commit, else the package version) and
# the SHA-256 of the resolved config its results were last brought up to date with. A rule of its own,
# beside the tables rather than their input: a new commit rewrites only this file, and the tables
# (byte-identical for an unchanged input, setting or code hash) are not recomputed for it.
from rolo.utils.provenance import config_hash, source_revision

REVISION = source_revision(REPO_DIR)
CONFIG_SHA256 = config_hash(config)


rule provenance:
    output:
        f"{EXP}/provenance.json",
    log:
        "logs/provenance/{exp}.log",
    localrule: True
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=200,
        runtime=5,
    params:
        revision=REVISION,
        config_sha256=CONFIG_SHA256,
        experiment=lambda wc: EXPERIMENTS[wc.exp],
    script:
        "../scripts/provenance.py"

