"""The container fixture of :mod:`emulator.testing.container` for this folder's tests."""

from emulator.testing.container import kfp_emulator_container

__all__ = ["kfp_emulator_container"]
