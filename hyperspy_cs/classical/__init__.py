"""The reconstruction methods the field compares against, as array functions.

Each is ``f(data, observed, **options)`` on the canonical ``(F, R, C, N)`` layout;
:func:`hyperspy_cs.inpaint` gives them the mask rules and output contract of
BPFA.

=================  ================================================================
``_interpolate``   nearest, linear, cubic and biharmonic interpolation
``_ksvd``          K-SVD dictionary learning with weighted OMP sparse coding
``_fourier``       Fourier filtering of the zero-filled image (low-pass, top-k peaks)
``_nonlocal``      non-local patch averaging, lattice-aware
``_pnp``           plug-and-play iterations around an off-the-shelf denoiser
=================  ================================================================
"""
