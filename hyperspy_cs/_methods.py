"""Attach the package's operations to HyperSpy signals as methods."""

import logging

_logger = logging.getLogger(__name__)

_MARK = "_hyperspy_cs_method"


def register(functions, cls=None):
    """Add ``functions`` to ``cls`` (default ``hyperspy.signal.BaseSignal``).

    An attribute HyperSpy (or another extension) already defines is never
    overwritten; our own earlier registration is, so importing twice (or
    reloading) is harmless.
    """
    if cls is None:
        from hyperspy.signal import BaseSignal as cls
    for function in functions:
        name = function.__name__
        existing = getattr(cls, name, None)
        if existing is not None and not getattr(existing, _MARK, False):
            _logger.warning(
                "hyperspy_cs: %s.%s already exists; use hyperspy_cs.%s(signal, ...) instead",
                cls.__name__, name, name,
            )
            continue
        setattr(function, _MARK, True)
        setattr(cls, name, function)
