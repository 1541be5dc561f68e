"""Figures (matplotlib) and box drawing / video writing (OpenCV, no matplotlib)."""
