"""live_qualcomm dataset: the LIVE-Qualcomm Mobile In-Capture Video Quality Database."""
