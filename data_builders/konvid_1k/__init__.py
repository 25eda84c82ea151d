"""konvid_1k dataset."""
