"""A Kubernetes API server emulator speaking the real REST protocol, for tests without a cluster."""

from .emulator import KubeApiEmulator
from .faults import Fault
from .requestlog import RequestRecord
from .status import ApiError

__all__ = ["ApiError", "Fault", "KubeApiEmulator", "RequestRecord"]
