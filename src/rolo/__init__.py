"""ROLO (Recurrent YOLO): YOLO features and detections fed to an LSTM that regresses the target's box."""

__version__ = "0.1.0"
