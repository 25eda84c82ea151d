"""csv_vqa dataset."""
