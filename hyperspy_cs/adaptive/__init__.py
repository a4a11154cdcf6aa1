"""At the microscope: targeted (adaptive) sampling and live reconstruction.

:func:`hyperspy_cs.simulate_adaptive` and :class:`hyperspy_cs.LiveReconstruction`
are the entry points (in the package's namespace); this module holds the planner
a scan generator calls between batches.

=================  ================================================================
``_planner``       where to measure next: criteria and instrument constraints
``_simulate``      :func:`simulate_adaptive`: replay a full scan as a targeted one
``_live``          :class:`LiveReconstruction`: a picture that follows the scan
=================  ================================================================
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={"_planner": ["CRITERIA", "acquisition_score", "plan_batch"]},
)
