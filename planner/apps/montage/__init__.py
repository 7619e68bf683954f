"""apps/montage."""
