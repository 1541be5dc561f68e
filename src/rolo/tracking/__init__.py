"""Trackers (the registry, ROLO and the baselines), their models and training, and online tracking."""
