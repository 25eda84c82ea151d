"""Training: the loop, its state and what a user sees of a run."""
