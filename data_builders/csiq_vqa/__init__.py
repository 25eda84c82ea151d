"""csiq_vqa dataset: the CSIQ Video Quality Database (CSIQ-VQD)."""
