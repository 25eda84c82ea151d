"""epfl_polimi dataset: the EPFL-PoLiMI video quality assessment database."""
