"""Registration with HyperSpy; checked in subprocesses because a broken registration
breaks ``import hyperspy.api`` for the whole environment."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import yaml

from hyperspy_cs.bpfa.dictionary import BPFADictionary


def run_python(code):
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_registration_yaml_is_a_mapping_shipped_in_the_package():
    from importlib.resources import files

    text = files("hyperspy_cs").joinpath("hyperspy_extension.yaml").read_text()
    spec = yaml.safe_load(text)
    assert isinstance(spec, dict) and "BPFADictionary" in spec["signals"]


def test_hyperspy_and_exspy_import_with_the_extension_installed():
    out = run_python(
        """
        import hyperspy.api as hs
        import exspy
        from hyperspy.extensions import ALL_EXTENSIONS
        # ALL_EXTENSIONS holds what the extensions register, keyed by class name.
        print(ALL_EXTENSIONS["signals"]["BPFADictionary"]["module"])
        print(ALL_EXTENSIONS["signals"]["LazyBPFADictionary"]["lazy"])
        print(hs.signals.Signal1D([1, 2]).__class__.__name__)
        """
    )
    assert "hyperspy_cs.bpfa.dictionary\nTrue" in out
    assert "Signal1D" in out


def test_entry_point_is_named_like_the_package():
    from importlib.metadata import entry_points

    names = {ep.name: ep.value for ep in entry_points(group="hyperspy.extensions")}
    assert names.get("hyperspy_cs") == "hyperspy_cs"


def test_methods_added_without_overwriting_and_import_twice_is_safe():
    out = run_python(
        """
        import importlib
        import hyperspy.api as hs
        from hyperspy.signal import BaseSignal
        original_sum = BaseSignal.sum
        import hyperspy_cs
        importlib.reload(hyperspy_cs)
        assert BaseSignal.sum is original_sum
        import exspy
        for name in ("subsample", "get_mask", "acquisition_report"):
            assert callable(getattr(exspy.signals.EDSTEMSpectrum, name)), name
        s = hs.signals.Signal2D([[1.0, 2.0], [3.0, 4.0]]).as_lazy()
        print(type(s.subsample(mask=[[True, False], [False, True]])).__name__)
        """
    )
    assert "LazySignal2D" in out


def test_existing_attributes_are_never_overwritten():
    from hyperspy_cs._registration import register

    class Host:
        def subsample(self):
            return "theirs"

    register(["subsample"], cls=Host)
    assert Host().subsample() == "theirs"


def test_dictionary_signal_round_trips_through_hs_load(tmp_path):
    rng = np.random.default_rng(0)
    atoms = rng.normal(size=(12, 6, 6, 3)).astype(np.float32)
    d = BPFADictionary.from_atoms(
        atoms, pi=rng.random(12), gamma_e=50.0, gamma_s=2.0, layer_names=["HAADF", "Fe", "O"]
    )
    assert d.axes_manager.navigation_shape == (12,)
    assert d.axes_manager.signal_shape == (6, 6, 3)
    d.save(tmp_path / "dictionary.hspy")
    out = run_python(
        f"""
        import hyperspy.api as hs
        import numpy as np
        d = hs.load(r"{tmp_path / 'dictionary.hspy'}")
        print(type(d).__name__, d.patch_size, d.n_layers, d.layer_names)
        np.save(r"{tmp_path / 'atoms.npy'}", d.to_atoms())
        """
    )
    assert "BPFADictionary 6 3 ['HAADF', 'Fe', 'O']" in out
    assert np.array_equal(np.load(tmp_path / "atoms.npy"), atoms)


def test_dictionary_plot_atoms():
    import matplotlib

    matplotlib.use("Agg")
    atoms = np.random.default_rng(1).normal(size=(10, 4, 4, 2))
    d = BPFADictionary.from_atoms(atoms, pi=np.linspace(1, 0, 10))
    fig = d.plot_atoms(n_atoms=6)
    assert len(fig.axes) == 6
    assert fig.axes[0].get_title().startswith("0:")
    with pytest.raises(ValueError, match="atoms"):
        BPFADictionary.from_atoms(np.zeros((3, 4, 5, 1)))


def test_import_is_quiet_and_light():
    # -W error: any warning raised while importing fails the import.
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", textwrap.dedent("""
            import sys
            import hyperspy_cs
            # scipy comes with hyperspy.signal itself; the rest would be ours.
            heavy = [m for m in ("dask", "exspy", "matplotlib", "numba", "sklearn", "skimage")
                     if m in sys.modules]
            print(heavy)
            """)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout.strip() == "[]"


def test_methods_load_their_functions_on_first_use():
    out = run_python(
        """
        import sys
        import hyperspy.api as hs
        import numpy as np
        import hyperspy_cs
        print("hyperspy_cs._subsample" in sys.modules)
        sub = hs.signals.Signal2D(np.ones((8, 8))).subsample(0.5, seed=0)
        print("hyperspy_cs._subsample" in sys.modules, int(hyperspy_cs.get_mask(sub).sum()))
        print(hs.signals.BaseSignal.inpaint_bpfa is hyperspy_cs.inpaint_bpfa)
        """
    )
    assert out.split() == ["False", "True", "32", "True"]
