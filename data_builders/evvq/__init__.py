"""evvq dataset: the EVVQ (VGA) video quality database."""
