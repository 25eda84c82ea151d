"""live_vqc dataset."""
