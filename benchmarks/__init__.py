"""Benchmarks for pytest-sleepbench: speed and false verdicts, measured on this machine.

Run ``python benchmarks/run.py`` (``--help`` for options); see docs/PERFORMANCE.md.
"""
