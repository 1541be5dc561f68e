#!/usr/bin/env sh
# OpenCV for rolo, after the dependencies are installed: Ultralytics depends on opencv-python, rolo on
# opencv-contrib-python-headless (the CSRT and KCF baselines); both write the same cv2 package, so
# whichever pip installed last would win. Remove the former, then reinstall the latter (the pin of
# pyproject.toml and environment.yml) over the shared folder.
#
# Run by `make opencv` (ROLO_PYTHON=<env>/bin/python; .venv, or a conda env with VENV="$CONDA_PREFIX")
# and, as environment.yml's post-deploy script, by Snakemake in each conda env it creates from
# environment.yml (snakemake --software-deployment-method conda), with that env active.
set -eu
py="${ROLO_PYTHON:-python}"
"$py" -m pip uninstall --quiet -y opencv-python opencv-python-headless
"$py" -m pip install --quiet --force-reinstall --no-deps opencv-contrib-python-headless==5.0.0.93
"$py" -c "import cv2; cv2.TrackerCSRT_create; cv2.TrackerKCF_create; print('OpenCV', cv2.__version__, 'with contrib trackers')"
