"""PyTorch definitions of the original architectures, written from
``shared/reference`` for the parity tests and ``benchmarks/models.py``.

They import torch (the ``convert`` extra); nothing in ``jvqa`` imports them.
"""
