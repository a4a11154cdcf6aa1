"""The learned BPFA dictionary as a HyperSpy signal of its own type.

Navigation: the ``K`` atoms; signal: a ``b x b x N`` patch (x, y, layer). The data
array is ``(K, N, b, b)``. The signal type ``BPFA_dictionary`` is registered in
``hyperspy_extension.yaml``, so a dictionary saved to ``.hspy``/``.zspy`` comes back
from ``hs.load`` as this class (with ``hyperspy_cs`` installed). Atoms are in the
engine's normalised units; ``metadata.BPFA`` keeps what is needed to reuse them:
the atom usage ``pi``, the noise and coefficient precisions, the names of the
layers and the per-layer normalisation (``layer_offset``, ``layer_scale``: data
units) of the data the atoms were learned on.
"""

import numpy as np
from hyperspy._signals.lazy import LazySignal
from hyperspy.signal import BaseSignal

__all__ = ["BPFADictionary", "LazyBPFADictionary"]


def _scalar_or_array(value):
    value = np.asarray(value, dtype=float)
    return float(value) if value.ndim == 0 else value


class BPFADictionary(BaseSignal):
    """A BPFA dictionary: ``K`` atoms of ``b x b x N`` patches."""

    _signal_type = "BPFA_dictionary"
    _signal_dimension = 3

    @classmethod
    def from_atoms(cls, atoms, *, pi=None, gamma_e=None, gamma_s=None, layer_names=None,
                   layer_offset=None, layer_scale=None, count_unit=None, count_gain=None,
                   title="BPFA dictionary"):
        """Build a dictionary signal from engine atoms.

        Parameters
        ----------
        atoms : numpy.ndarray, shape (K, b, b, N)
            Atoms in the engine's normalised units.
        pi : numpy.ndarray, shape (K,), optional
            Atom usage probabilities.
        gamma_e : float or numpy.ndarray, optional
            Noise precision learned with the atoms: one value, or one per layer
            (shape (N,)).
        gamma_s : float, optional
            Coefficient precision learned with the atoms.
        layer_names : list of str, optional
            One name per layer (e.g. ``["HAADF", "Fe_Ka", "PCA 1"]``).
        layer_offset, layer_scale : numpy.ndarray, shape (N,), optional
            The normalisation of the data the atoms were learned on
            (``normalised = (data - offset) / scale``), in data units; in
            Anscombe units for the layers of ``count_unit``.
        count_unit : numpy.ndarray, shape (N,), optional
            Data units of one count in each layer learned as Poisson counts
            (Anscombe values), 0 for the others; see :meth:`count_units`.
        count_gain : numpy.ndarray, shape (N,), optional
            The factor their results were scaled by (``BPFAResult.count_gain``).
        """
        atoms = np.asarray(atoms)
        if atoms.ndim != 4 or atoms.shape[1] != atoms.shape[2]:
            raise ValueError(f"atoms: expected shape (K, b, b, N), got {atoms.shape}")
        n_atoms, b, _, n_layers = atoms.shape
        layer_names = list(layer_names) if layer_names is not None else [
            f"layer {i}" for i in range(n_layers)
        ]
        if len(layer_names) != n_layers:
            raise ValueError(f"layer_names: expected {n_layers} names, got {len(layer_names)}")
        axes = [
            {"name": "atom", "size": n_atoms, "navigate": True},
            {"name": "layer", "size": n_layers, "navigate": False},
            {"name": "patch y", "size": b, "navigate": False, "units": "px"},
            {"name": "patch x", "size": b, "navigate": False, "units": "px"},
        ]
        bpfa = {"layer_names": layer_names}
        if pi is not None:
            bpfa["pi"] = np.asarray(pi, dtype=float)
        if gamma_e is not None:
            bpfa["gamma_e"] = _scalar_or_array(gamma_e)
        if gamma_s is not None:
            bpfa["gamma_s"] = _scalar_or_array(gamma_s)
        if count_unit is not None and np.any(count_unit):
            bpfa["count_unit"] = np.asarray(count_unit, dtype=float).reshape(n_layers)
            if count_gain is not None:
                bpfa["count_gain"] = np.asarray(count_gain, dtype=float).reshape(n_layers)
        for name, value in (("layer_offset", layer_offset), ("layer_scale", layer_scale)):
            if value is not None:
                bpfa[name] = np.asarray(value, dtype=float).reshape(n_layers)
        return cls(
            np.ascontiguousarray(atoms.transpose(0, 3, 1, 2)),
            axes=axes,
            metadata={"General": {"title": title}, "BPFA": bpfa},
        )

    @property
    def patch_size(self):
        """Patch side ``b`` in pixels."""
        return int(self.data.shape[-1])

    @property
    def n_layers(self):
        """Number of layers ``N``."""
        return int(self.data.shape[-3])

    @property
    def layer_names(self):
        return list(self.metadata.get_item("BPFA.layer_names", [
            f"layer {i}" for i in range(self.n_layers)
        ]))

    @property
    def usage(self):
        """Atom usage probabilities ``pi`` (shape (K,)), or None if unknown."""
        pi = self.metadata.get_item("BPFA.pi")
        return None if pi is None else np.asarray(pi, dtype=float)

    def to_atoms(self):
        """Atoms as the engine takes them: a ``(K, b, b, N)`` float32 array."""
        data = self.data.compute() if hasattr(self.data, "compute") else self.data
        return np.ascontiguousarray(np.asarray(data, dtype=np.float32).transpose(0, 2, 3, 1))

    def count_units(self):
        """Data units of one count per layer (shape (N,)): the layers learned as
        Poisson counts, through their Anscombe values; 0 for the others."""
        return self._per_layer("count_unit", 0.0)

    def count_gains(self):
        """The factor the results of the count layers were scaled by to keep their
        observed counts (shape (N,), 1 where unknown or not counts)."""
        return self._per_layer("count_gain", 1.0)

    def _per_layer(self, key, default):
        values = self.metadata.get_item(f"BPFA.{key}")
        return (np.full(self.n_layers, default) if values is None
                else np.asarray(values, dtype=float).reshape(self.n_layers))

    def engine_hyper(self):
        """``pi``, ``gamma_e``, ``gamma_s`` for fixed-hyper-parameter coding, or None."""
        keys = ("pi", "gamma_e", "gamma_s")
        if not all(self.metadata.has_item(f"BPFA.{k}") for k in keys):
            return None
        return {
            "pi": self.usage,
            "gamma_e": _scalar_or_array(self.metadata.BPFA.gamma_e),
            "gamma_s": _scalar_or_array(self.metadata.BPFA.gamma_s),
        }

    def normalisation(self):
        """``(layer_offset, layer_scale)``, each shape (N,) in data units, or None if
        not recorded (a dictionary saved before they were)."""
        if not all(self.metadata.has_item(f"BPFA.{k}") for k in ("layer_offset", "layer_scale")):
            return None
        return tuple(np.asarray(self.metadata.get_item(f"BPFA.{k}"), dtype=float).reshape(-1)
                     for k in ("layer_offset", "layer_scale"))

    def plot_atoms(self, *, n_atoms=64, layer=None, sort=True, cmap="RdBu_r", fig=None):
        """Show the atoms as a grid of small images.

        Parameters
        ----------
        n_atoms : int
            How many atoms to show (the most used first when ``sort``).
        layer : int or str, optional
            Which layer to show; by default all layers side by side (one column
            of the grid per layer within each atom tile).
        sort : bool
            Order atoms by decreasing usage ``pi``.
        cmap : str
            Matplotlib colormap (diverging: atoms have signed values).
        fig : matplotlib.figure.Figure, optional

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        atoms = self.to_atoms()
        order = np.arange(atoms.shape[0])
        if sort and self.usage is not None:
            order = np.argsort(-self.usage, kind="stable")
        order = order[: max(1, int(n_atoms))]
        if layer is not None:
            index = self.layer_names.index(layer) if isinstance(layer, str) else int(layer)
            atoms = atoms[..., index : index + 1]
        b, n_layers = atoms.shape[1], atoms.shape[3]
        # Each tile shows an atom's layers side by side, separated by a NaN column.
        tiles = np.full((len(order), b, n_layers * (b + 1) - 1), np.nan, dtype=float)
        for j in range(n_layers):
            tiles[:, :, j * (b + 1) : j * (b + 1) + b] = atoms[order, :, :, j]
        n_cols = int(np.ceil(np.sqrt(len(order) * b / tiles.shape[2])))
        n_rows = int(np.ceil(len(order) / n_cols))
        fig = fig or plt.figure(figsize=(1.0 + 0.9 * n_cols * n_layers, 1.0 + 0.9 * n_rows))
        for i, (k, tile) in enumerate(zip(order, tiles)):
            ax = fig.add_subplot(n_rows, n_cols, i + 1)
            lim = np.nanmax(np.abs(tile)) or 1.0
            ax.imshow(tile, cmap=cmap, vmin=-lim, vmax=lim, interpolation="nearest")
            ax.set_axis_off()
            if self.usage is not None:
                ax.set_title(f"{k}: {self.usage[k]:.2f}", fontsize=6)
        fig.suptitle(self.metadata.get_item("General.title", "BPFA dictionary"))
        return fig


class LazyBPFADictionary(LazySignal, BPFADictionary):
    """Lazy version of :class:`BPFADictionary`."""
