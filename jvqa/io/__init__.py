"""Video input and output: PyAV decoding, raw YUV, sample videos."""
