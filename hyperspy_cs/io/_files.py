"""Reading files for the user: errors that name the file and what went wrong."""

import logging
import os
import pathlib

# The formats that keep metadata arrays (the scan mask and order) and reload as signals.
SIGNAL_SUFFIXES = (".hspy", ".zspy")


def guide_file_for(path):
    """``sub.hspy`` -> ``sub_guide.hspy``: where ``hyperspy-cs subsample`` writes the guide
    image of a sub-sampled file, and where :func:`load_acquisition` looks for it."""
    path = pathlib.Path(path)
    return path.with_name(f"{path.stem}_guide{path.suffix}")


def check_path(path, *, name="path"):
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name}: expected a file name (str or os.PathLike), got {type(path).__name__}")
    path = pathlib.Path(path)
    if not path.exists():  # a .zspy "file" is a folder
        raise FileNotFoundError(f"{name}: no such file: {path}")
    return path


def _without_report_request(record):
    """Logging filter: drop hs.load's "please report this error" line.

    HyperSpy logs it at ERROR level for any file a reader fails on; the failure
    is reported by the ValueError of :func:`load_file`, which names the file, and
    a damaged or foreign file is no bug to report to RosettaSciIO.
    """
    return "report this error" not in record.getMessage()


def load_file(path, *, name="path", **hs_load_kwargs):
    """``hs.load(path)``, with a reader's failure on the file as a ValueError naming it.

    RosettaSciIO's readers fail on a truncated, damaged or foreign file with
    whatever their parsing raised (struct.error, IndexError, h5py's OSError...),
    and the message rarely says which file.
    """
    import hyperspy.api as hs

    logger = logging.getLogger("hyperspy.io")
    logger.addFilter(_without_report_request)
    try:
        return hs.load(path, **hs_load_kwargs)
    except (FileNotFoundError, PermissionError, MemoryError):
        raise  # about the file system or the machine, not the file's content
    except Exception as error:
        kind = type(error).__qualname__
        if type(error).__module__ != "builtins":
            kind = f"{type(error).__module__}.{kind}"  # "struct.error", not "error"
        reason = f"{kind}: {error}" if str(error) else kind
        raise ValueError(f"{name}: cannot read {path.name}: {reason}") from error
    finally:
        logger.removeFilter(_without_report_request)
