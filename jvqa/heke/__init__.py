"""BVQA-HEKE on frozen features: snippets, feature stores, blind scores, regressor, protocols.

* ``clips``: the original's snippet/frame-pair indices, box averaging and
  normalisation (reference §2.3).
* ``features``: ``extract`` runs a HEKE encoder over a data source and
  writes a feature store; ``store`` reads and writes stores.
* ``blind``: completely blind prediction with the four knowledge heads.
* ``regressor``: ``FC_network``, its targets, and its jitted training.
* ``splits``: intra-database (by reference content), IVC-IC's 50 sets, UGC
  random splits and the validation hold-out; ``protocols`` runs the intra,
  UGC and cross-database evaluations on stores.

Modules are imported explicitly (``from jvqa.heke import features``): this
package imports nothing itself.
"""
