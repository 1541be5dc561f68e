"""Datasets: OTB-layout sequences, the OTB-2015 catalog, synthetic sequences, downloads, experiment splits."""
