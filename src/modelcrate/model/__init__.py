"""The model base class packaged models subclass."""

from ._model import Model, check_value

__all__ = ["Model", "check_value"]
