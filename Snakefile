# rolo: ROLO (Recurrent YOLO) as a cached Snakemake workflow. See README.md; options: config/README.md.
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


sys.path.insert(0, str(Path(workflow.basedir) / "src"))  # this checkout's package

from rolo.data.splits import check_experiments

try:  # before the schema, whose oneOf over split kinds cannot name the field at fault
    check_experiments(config.get("experiments", {}))
except ValueError as e:
    raise WorkflowError(str(e)) from None


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/download.smk"
include: "workflow/rules/detector.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/track.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/plots.smk"
include: "workflow/rules/sweeps.smk"
include: "workflow/rules/variation.smk"
include: "workflow/rules/demo.smk"


report: "workflow/report/workflow.rst"


rule all:
    default_target: True
    input:
        all_targets(),
