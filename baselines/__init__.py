"""Comparison models (GMU, CentralNet, late and early fusion) and the alternative contrastive losses.

Models are reached through :mod:`benchmarks.registry` by name; each module here holds one model
and its registry factory, built from the blocks in :mod:`idkg.model`.
"""
