"""The core: patterns, the schedule model, timelines and calibration. Knows nothing of pytest."""
