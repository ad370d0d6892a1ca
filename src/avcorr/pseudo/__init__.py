"""Pseudo-fakes made on the fly from real clips: each mimics one family of real generators.

See :mod:`avcorr.pseudo.registry` for the types and their mixing weights, and
:mod:`avcorr.pseudo.degrade` for the degradations shared by reals and pseudo-fakes.
"""
