"""Choosing the device a model runs on. torch is imported only when a torch device is chosen."""

from __future__ import annotations

import re

from ..errors import ModelUnavailable

__all__ = ["onnx_device", "select_device"]

_DEVICE = re.compile(r"^(cpu|cuda|mps)(?::(\d+))?$")


def select_device(device: str | None = None) -> str:
    """The torch device to run on.

    Args:
        device: ``None`` (or ``"auto"``) picks cuda, then mps, then cpu. ``"cpu"``,
            ``"cuda"``, ``"cuda:N"`` and ``"mps"`` are honoured when available.

    Returns:
        The device name, e.g. ``"cpu"`` or ``"cuda:1"``.

    Raises:
        ModelUnavailable: the device is unknown or not available on this machine.

    Example:
        >>> select_device("cpu")
        'cpu'
    """
    import torch

    if device is None or device.strip().lower() in {"", "auto"}:
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps"
        return "cpu"
    wanted = device.strip().lower()
    found = _DEVICE.match(wanted)
    if found is None:
        raise ModelUnavailable(
            f"unknown device {device!r}: use cpu, cuda, cuda:N or mps, or leave it unset to "
            "pick the best available"
        )
    kind, index = found.group(1), found.group(2)
    if kind == "cpu":
        return "cpu"
    if kind == "cuda":
        if not torch.cuda.is_available():
            built = "" if torch.version.cuda else "; this torch build has no CUDA support"
            raise ModelUnavailable(
                f"device {device!r} was requested but CUDA is not available "
                f"(torch {torch.__version__}{built}); use --device cpu"
            )
        count = torch.cuda.device_count()
        if index is not None and int(index) >= count:
            raise ModelUnavailable(
                f"device {device!r} was requested but this machine has {count} CUDA device(s)"
            )
        return wanted
    mps = getattr(torch.backends, "mps", None)
    if mps is None or not mps.is_available():
        raise ModelUnavailable(
            f"device {device!r} was requested but Apple MPS is not available; use --device cpu"
        )
    return wanted


def onnx_device(device: str | None) -> str:
    """The device of the ONNX backends: always ``"cpu"``; without importing torch.

    Raises:
        ModelUnavailable: any other device was asked for.
    """
    if device is None or device.strip().lower() in {"", "auto", "cpu"}:
        return "cpu"
    raise ModelUnavailable(f"the ONNX backends run on the CPU; device {device!r} needs --backend torch")
