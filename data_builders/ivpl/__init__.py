"""ivpl dataset: the IVP (CUHK) Subjective Quality Video Database."""
