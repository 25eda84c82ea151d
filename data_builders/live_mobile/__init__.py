"""live_mobile dataset: the LIVE Mobile Video Quality Database."""
