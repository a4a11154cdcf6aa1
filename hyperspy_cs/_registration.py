"""Attach the package's operations to HyperSpy signals as methods."""

import importlib
import inspect
import logging

_logger = logging.getLogger(__name__)


class _Method:
    """A signal method whose function is imported on first use.

    ``import hyperspy_cs`` then costs no more than this module: the engine, dask
    and exspy load when a method is first looked up. On the class it gives the
    function itself, so ``help(BaseSignal.inpaint_bpfa)`` shows its docstring.
    """

    def __init__(self, name):
        self.name = name

    def __get__(self, instance, owner=None):
        function = getattr(importlib.import_module("hyperspy_cs"), self.name)
        return function if instance is None else function.__get__(instance, owner)

    def __repr__(self):
        return f"<hyperspy_cs method {self.name}>"


def register(names, cls=None):
    """Add the ``hyperspy_cs`` functions ``names`` to ``cls`` (default ``BaseSignal``).

    An attribute HyperSpy (or another extension) already defines is never
    overwritten; our own earlier registration is, so importing twice (or
    reloading) is harmless.
    """
    if cls is None:
        from hyperspy.signal import BaseSignal as cls
    for name in names:
        # getattr_static: looking the name up must not run our own descriptor.
        existing = inspect.getattr_static(cls, name, None)
        if existing is not None and not isinstance(existing, _Method):
            _logger.warning(
                "hyperspy_cs: %s.%s already exists; use hyperspy_cs.%s(signal, ...) instead",
                cls.__name__, name, name,
            )
            continue
        setattr(cls, name, _Method(name))
