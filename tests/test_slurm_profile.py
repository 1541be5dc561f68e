"""profiles/slurm: it names rules that exist, keeps GPU rules out of groups, groups the small jobs.

The real SLURM run is .ci/slurm_test.sh (CI runs it after these tests); here only what needs no
cluster and no plugin: the profile's YAML and a dry run with its settings.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml

from conftest import REPO, TINY_CONFIG, snakemake, write_config

PROFILE = REPO / "profiles/slurm/config.yaml"


def profile() -> dict:
    return yaml.safe_load(PROFILE.read_text())


def workflow_rules() -> set[str]:
    """Rules of the workflow under the shipped configs (some are defined by one config only)."""
    rules = set()
    for configfile in ("config/config.yaml", "config/demo.yaml"):
        proc = subprocess.run(
            [sys.executable, "-m", "snakemake", "--list-rules", "--configfile", configfile],
            cwd=REPO, capture_output=True, text=True, check=True,
        )
        rules |= {line.split()[0] for line in proc.stdout.splitlines() if line.strip()}
    return rules


def test_profile_is_slurm_and_names_only_existing_rules():
    p = profile()
    assert p["executor"] == "slurm"
    # the site settings are there, empty (SLURM's defaults) until a user sets them
    assert {"slurm_partition", "slurm_account", "mem_mb", "runtime"} <= set(p["default-resources"])
    named = set(p["set-resources"]) | set(p["groups"])
    # Snakemake ignores unknown rule names silently: a renamed rule would lose its settings
    assert named <= workflow_rules(), f"profile names rules the workflow does not have: {named - workflow_rules()}"
    # group-components only for groups that exist
    assert set(p["group-components"]) <= set(p["groups"].values())


def gpu_rules_of_the_workflow() -> set[str]:
    """Rules that declare ``gpu=1`` in the rule files, and the ``use rule X as Y`` copies of them
    (which inherit X's resources unless they set their own)."""
    declared, copies = set(), {}
    for smk in [REPO / "Snakefile", *sorted((REPO / "workflow/rules").glob("*.smk"))]:
        for chunk in re.split(r"^\s*(?=rule \w+:|use rule )", smk.read_text(), flags=re.M):
            m = re.match(r"rule (\w+):", chunk)
            if m and re.search(r"\bgpu=1\b", chunk):
                declared.add(m.group(1))
            u = re.match(r"use rule (\w+) as (\w+)", chunk)
            if u:
                copies[u.group(2)] = (u.group(1), "resources:" in chunk, bool(re.search(r"\bgpu=1\b", chunk)))
    gpu = set(declared)
    for name, (base, own_resources, own_gpu) in copies.items():
        if own_gpu or (base in declared and not own_resources):
            gpu.add(name)
    return gpu


def test_every_gpu_rule_has_its_gpu_settings():
    """Each rule that declares gpu=1 (copies made with `use rule` included) has an entry under
    set-resources, the GPU partition's one place; a GPU rule left out would be submitted to the CPU
    partition. None of them is in a group (each GPU job asks for its own GPU)."""
    gpu = gpu_rules_of_the_workflow()
    assert {"train_detector", "train_detector_ft", "extract_features", "extract_features_ft", "train_rolo"} <= gpu
    p = profile()
    missing = sorted(gpu - set(p["set-resources"]))
    assert not missing, f"GPU rules without set-resources in profiles/slurm/config.yaml: {missing}"
    assert not gpu & set(p["groups"])


def test_default_profile_is_local():
    local = yaml.safe_load((REPO / "profiles/default/config.yaml").read_text())
    assert "executor" not in local and "groups" not in local and "set-resources" not in local


@pytest.fixture(scope="module")
def slurm_dry_run(tmp_path_factory) -> str:
    """A dry run of the tiny config with the profile's settings. Without the executor (a dry run
    submits nothing), so that it needs neither the plugin nor a cluster."""
    workdir = tmp_path_factory.mktemp("slurm_dry_run")
    write_config(workdir, TINY_CONFIG)
    settings = {k: v for k, v in profile().items() if k != "executor" and not k.startswith("slurm-")}
    (workdir / "profile").mkdir()
    (workdir / "profile/config.yaml").write_text(yaml.safe_dump(settings))
    proc = snakemake(workdir, "-n", "--workflow-profile", str(workdir / "profile"))
    return proc.stdout + proc.stderr


def test_dry_run_groups_the_small_jobs_and_not_the_gpu_ones(slurm_dry_run):
    out = slurm_dry_run
    groups = re.findall(r"Group job (\w+) \(jobs in lexicogr\. order\):", out)
    experiments = len(TINY_CONFIG["experiments"])
    # one job for every synthesize and splits job; per experiment one for tracking, scores and
    # figures and one for the loss plot (it needs only the training log); one for the sweeps'
    # tracks, tables and figures (they depend on the sweep models, not on the trackers' tracks)
    assert groups.count("inputs") == 1
    assert groups.count("report") == 2 * experiments + 1
    gpu_rules = {
        rule for rule, res in re.findall(r"^rule (\w+):\n(?:    .*\n)*?    resources: (.*)$", out, re.M)
        if re.search(r"\bgpu=1\b", res)
    }
    assert {"train_detector", "extract_features", "train_rolo"} <= gpu_rules
    assert not gpu_rules & set(profile()["groups"]), "a GPU rule in a group would share one GPU request"


def test_every_rule_declares_threads_memory_and_runtime():
    """What a cluster job asks for comes from the rule: each rule that runs something declares
    threads, mem_mb and runtime (minutes); `use rule ... with:` copies inherit them."""
    missing = []
    for smk in [REPO / "Snakefile", *sorted((REPO / "workflow/rules").glob("*.smk"))]:
        chunks = re.split(r"^\s*(?=rule \w+:|use rule )", smk.read_text(), flags=re.M)
        for chunk in chunks:
            m = re.match(r"rule (\w+):", chunk)
            if not m or not re.search(r"^\s+(script|shell|run|wrapper|notebook):", chunk, re.M):
                continue
            for needed in ("threads:", "mem_mb=", "runtime="):
                if needed not in chunk:
                    missing.append(f"{smk.name}: rule {m.group(1)} has no {needed}")
    assert not missing, "\n".join(missing)
