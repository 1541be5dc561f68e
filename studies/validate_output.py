"""Choose ROLO's output parameterisation on validation frames carved from the TRAINING frames.

Reads the pipeline's cached features and splits (run the demo first) and, for every experiment,
trains one model per option on the first 75% of each training video's labelled frames and reports
IoU on the last 25% (never a test frame). The "input" row is the associated (YOLO-only) box on the
same validation frames. Usage:

    python studies/validate_output.py --configfile config/demo.yaml [--epochs 30 100]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import yaml

from rolo.tracking.association import AssociationParams
from rolo.utils.boxes import iou
from rolo.data.sequences import load_sequence
from rolo.data.splits import read_splits, train_videos
from rolo.detection.extraction import load_extracted
from rolo.tracking.models import ModelConfig
from rolo.tracking.training import TrainParams, _xyxy, build_windows, prepare_video, train_model


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--configfile", default="config/demo.yaml")
    ap.add_argument("--epochs", type=int, nargs="+", default=[30])
    ap.add_argument("--val-fraction", type=float, default=0.25)
    args = ap.parse_args()
    cfg = yaml.safe_load(open(args.configfile))
    rolo, assoc = cfg["rolo"], AssociationParams(**cfg["association"])
    rows = []
    for exp, e in cfg["experiments"].items():
        splits = read_splits(f"results/{exp}/splits.json")
        videos = []
        for v in train_videos(e):
            f, d, m = load_extracted(*(f"results/features/{v}/{x}" for x in ("features.npy", "detections.npy", "meta.json")))
            seq = load_sequence(f"{cfg['dataset']['root']}/{v}", name=v)
            videos.append(prepare_video(v, f, d, seq.gt, tuple(m["image_wh"]), splits[v], assoc))
        X, idx, Y, val = build_windows(videos, rolo["steps"], args.val_fraction)
        c = X.shape[1] - 6
        rows.append({"experiment": exp, "output": "input box (YOLO-only)", "epochs": 0,
                     "val_iou": float(iou(_xyxy(X[idx[val, -1], c:c + 4]), _xyxy(Y[val])).mean())})
        for output in ("absolute", "residual"):
            for epochs in args.epochs:
                mc = ModelConfig(feature_dim=c, hidden=rolo["hidden"], layers=rolo["layers"], steps=rolo["steps"], output=output)
                tp = TrainParams(epochs=epochs, batch=rolo["batch"], lr=rolo["lr"], seed=rolo["seed"], val_fraction=args.val_fraction)
                _, log = train_model(videos, mc, tp, progress=False)
                rows.append({"experiment": exp, "output": output, "epochs": epochs, "val_iou": log.val_iou.iloc[-1]})
                print(rows[-1], flush=True)
    print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".3f"))


if __name__ == "__main__":
    main()
