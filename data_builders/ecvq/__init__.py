"""ecvq dataset: the ECVQ (CIF) video quality database."""
