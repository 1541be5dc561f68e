"""Speed, measured: extraction, training and tracking against their ceilings and the original ROLO's and the ROLO-PyTorch port's ways.

    python -m benchmarks              # the full run (a few minutes on 2 CPU cores), see BENCHMARKS.md
    python -m benchmarks --quick      # a tiny model and input: seconds (the smoke test runs this)

Sections: :mod:`benchmarks.extraction`, :mod:`benchmarks.training`, :mod:`benchmarks.tracking`,
:mod:`benchmarks.stages` (the demo's per-stage wall time from Snakemake's ``benchmark:`` files).
"""
