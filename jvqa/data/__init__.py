"""Data: temporal and spatial sampling, normalisation, input pipelines."""
