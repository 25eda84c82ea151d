"""lsvq dataset."""
