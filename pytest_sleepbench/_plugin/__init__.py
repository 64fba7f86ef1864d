"""The pytest side: each module owns its options and hooks; ``plugin`` wires them together."""
