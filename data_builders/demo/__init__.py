"""demo dataset."""
