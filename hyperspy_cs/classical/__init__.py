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

# name: (private module, function, fixed options). Kept here, free of imports, so
# that the command line can offer the names without loading any method.
ARRAY_METHODS = {
    "nearest": ("_interpolate", "interpolate", {"kind": "nearest"}),
    "linear": ("_interpolate", "interpolate", {"kind": "linear"}),
    "cubic": ("_interpolate", "interpolate", {"kind": "cubic"}),
    "biharmonic": ("_interpolate", "interpolate", {"kind": "biharmonic"}),
    "ksvd": ("_ksvd", "ksvd", {}),
    "fourier_lowpass": ("_fourier", "fourier_lowpass", {}),
    "fourier_global": ("_fourier", "fourier_global", {}),
    "nonlocal": ("_nonlocal", "nonlocal_means", {}),
    "pnp": ("_pnp", "pnp", {}),
}
#: Every method of :func:`hyperspy_cs.inpaint`: the classical ones, then BPFA.
METHODS = (*ARRAY_METHODS, "bpfa")
