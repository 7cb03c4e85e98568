"""An in-memory multi-user Kubeflow Pipelines deployment for isolation testing.

Quick start::

    from emulator import Emulator, EmulatorServer, ProfileSpec

    emu = Emulator(profiles=[ProfileSpec("alice", "alice@example.com")])
    with EmulatorServer(emu) as server:
        token = emu.service_account_token("alice")   # default-editor in alice
        ...  # point kfp.Client(host=server.url) at it
"""

from emulator.clock import Clock
from emulator.config import EmulatorConfig
from emulator.core import Emulator, ProfileSpec
from emulator.serving import EmulatorServer, serve_in_background

__all__ = [
    "Clock",
    "Emulator",
    "EmulatorConfig",
    "EmulatorServer",
    "ProfileSpec",
    "serve_in_background",
]
