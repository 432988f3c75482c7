"""Export of cleaned, rebalanced splits with provenance."""
