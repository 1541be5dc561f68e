"""Scoring: pure metrics, the OTB scoring protocols, the standalone scorer and the pipeline's tables."""
