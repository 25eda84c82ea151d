"""well_set dataset."""
