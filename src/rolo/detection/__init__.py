"""The YOLO detector: loading, training, and per-video extraction of detections and features."""
