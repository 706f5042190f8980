"""Reference implementation of the injector surrogate's model (examples/injector/variables.yml).

`examples/quickstart.sh` copies this file over the generated placeholder
(`src/injector_surrogate/model.py`); the tests use it as a real model.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import numpy as np

from modelcrate import Model, load_spec

try:
    from injector_surrogate import __version__
except ImportError:  # used outside the generated package (tests, benchmarks)
    __version__ = "0+example"

_SPEC_SOURCE = "injector_surrogate"
try:
    _VARIABLES = files(_SPEC_SOURCE) / "variables.yml"
except ModuleNotFoundError:
    from pathlib import Path

    _VARIABLES = Path(__file__).with_name("variables.yml")

GRID = np.linspace(-3.0, 3.0, 64)  # the screen's pixel centres in mm, as beam_image declares


class InjectorSurrogateModel(Model):
    """Beam size, emittance and screen image after the injector solenoid."""

    spec = load_spec(_VARIABLES)
    name = "injector-surrogate"
    version = __version__

    def evaluate(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """A smooth, physics-shaped surrogate: thermal + space-charge emittance, thin-lens focusing."""
        radius = inputs["laser_radius"]
        charge = inputs["bunch_charge"]
        solenoid = inputs["SOL1:BCTRL"]
        phase = inputs["gun_phase"]
        quad = inputs["QUAD:IN20:121:BCTRL"]
        drift = inputs["screen_distance"]

        # Emittance: thermal part grows with the laser spot, space charge with charge per area,
        # and off-crest phase adds RF emittance.
        thermal = 0.9 * radius
        space_charge = 0.004 * charge / max(radius, 1e-6)
        rf = 0.002 * phase**2
        norm_emit = float(np.sqrt(thermal**2 + space_charge**2 + rf**2))

        # Thin-lens solenoid focusing (strength ~ B^2), then a drift to the screen.
        focus = 1.0 - drift * 2.2 * solenoid**2
        divergence = norm_emit / (10.0 * radius)  # mrad for a ~5 MeV beam
        sigma = float(np.hypot(radius * focus, divergence * drift))
        sigma_x = sigma * (1.0 + 0.08 * quad)
        sigma_y = sigma * (1.0 - 0.08 * quad)

        x, y = np.meshgrid(GRID, GRID, indexing="xy")
        density = np.exp(-0.5 * ((x / sigma_x) ** 2 + (y / sigma_y) ** 2))
        density *= charge / (2.0 * np.pi * sigma_x * sigma_y)
        return {
            "sigma_x": abs(sigma_x),
            "sigma_y": abs(sigma_y),
            "norm_emit_x": norm_emit,
            "beam_image": density,
        }
