"""live_vqa dataset: the LIVE Video Quality Database (LIVE-VQA)."""
