"""Qt item models that adapt the core's numpy arrays (no per-row Python objects)."""
