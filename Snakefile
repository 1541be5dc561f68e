# rolo: ROLO (Recurrent YOLO) as a cached Snakemake workflow. See README.md; options: config/README.md.
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

min_version("9.0")

# Run elsewhere than this checkout with neither --directory nor --configfile, the workflow would plan in
# a folder that is not meant for it: stop, naming the three ways to run it.
if (
    workflow.is_main_process
    and workflow.overwrite_workdir is None
    and not workflow.overwrite_configfiles
    and Path.cwd().resolve() != Path(workflow.basedir).resolve()
):
    raise WorkflowError(
        f"run from {Path.cwd()} without --directory or --configfile: run it in {workflow.basedir}, "
        "or pass --directory DIR (DIR/config/config.yaml) or --configfile FILE"
    )


configfile: "config/config.yaml"


sys.path.insert(0, str(Path(workflow.basedir) / "src"))  # this checkout's package

from rolo.data.splits import check_experiments
from rolo.data.splits import given_experiments

# Snakemake merges --configfile over config/config.yaml: a config's experiments replace the default's
# exp1-3 instead (docs/design.md, "Reliability").
config["experiments"] = given_experiments(
    config.get("experiments", {}), workflow.overwrite_configfiles
)

try:  # before the schema, whose oneOf over split kinds cannot name the field at fault
    check_experiments(config.get("experiments", {}))
except ValueError as e:
    raise WorkflowError(str(e)) from None


# dataset.otb: null (one's own OTB-layout folders under dataset.root, not OTB-2015) undoes the default
# config's OTB section; dropped before the schema fills in its defaults
if isinstance(config.get("dataset"), dict) and config["dataset"].get("otb", 0) is None:
    del config["dataset"]["otb"]

validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/identity.smk"
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
