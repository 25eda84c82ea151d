"""synthetic_distortions dataset."""
