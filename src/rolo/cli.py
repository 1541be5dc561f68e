"""The ``rolo`` command line: one subcommand per task (``rolo score``; more register the same way).

Each subcommand is a function ``add_<name>(subparsers)`` that builds its parser and sets
``func``, which gets the parsed arguments and returns the exit status. Input errors print one
line naming the file or setting and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from rolo.data import RoloInputError


def add_score(subparsers) -> None:
    """``rolo score``: score OTB-format result files against OTB ground truth."""
    from rolo.otb import PROTOCOLS

    p = subparsers.add_parser(
        "score",
        help="score a tracker's OTB-format results (success AUC, precision, normalised precision)",
        description="Score a tracker's OTB-format results <Sequence>.txt (one x,y,w,h per scored frame, "
        "1-based, comma or white-space separated) against the ground truth under DATASET_ROOT. "
        "Writes one row per sequence and a last row ALL (mean over sequences).",
    )
    p.add_argument("--dataset-root", required=True, help="OTB root (<Folder>/img, ground truth) or plain sequence folders")
    p.add_argument("--results", required=True, help="folder of <Sequence>.txt result files")
    p.add_argument(
        "--sequences",
        nargs="+",
        metavar="NAME",
        help="sequences to score (names, aliases or the groups otb100, otb30, face; comma or space "
        "separated); default: every <Sequence>.txt in --results",
    )
    p.add_argument("--protocol", choices=PROTOCOLS, default="official", help="scoring protocol (default: official)")
    p.add_argument("--out", required=True, help="CSV to write: sequence,frames,aos,success_auc,success_50,precision_20,norm_precision_20")
    p.set_defaults(func=run_score)


def run_score(args: argparse.Namespace) -> int:
    from rolo.data import atomic_path
    from rolo.otb import expand_names
    from rolo.scoring import PROTOCOL_NOTES, result_names, score_results

    if args.sequences:
        names = expand_names([n for arg in args.sequences for n in arg.split(",") if n])
    else:
        names = result_names(args.results)
    table = score_results(args.dataset_root, args.results, names, args.protocol)
    with atomic_path(args.out) as tmp:
        table.to_csv(tmp, index=False)
    print(f"protocol: {args.protocol} ({PROTOCOL_NOTES[args.protocol]})")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"wrote {args.out}")
    return 0


SUBCOMMANDS: list[Callable] = [add_score]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rolo", description="ROLO (Recurrent YOLO) tools")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except RoloInputError as e:
        print(f"rolo {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
