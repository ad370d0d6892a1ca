"""What machine a measurement ran on: recorded beside every benchmark result."""
from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_description() -> dict[str, Any]:
    """CPU model, logical cores, GPU, torch and Python versions, and the load average at the
    time of the call (these machines can be shared: a high load makes timings pessimistic)."""
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    load = [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None
    return {"cpu": cpu_model(), "logical_cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "gpu": gpu, "cuda": torch.version.cuda if gpu else None, "torch": torch.__version__,
            "python": platform.python_version(), "platform": platform.platform(), "load_average_1_5_15": load}


def load_note(load_1min: float | None) -> str:
    """How to read timings given the 1-minute load average before a benchmark started."""
    if load_1min is None:
        return "load unknown."
    if load_1min >= 1.0:
        return "the machine was shared with other jobs, so these timings are pessimistic."
    return "the machine was otherwise idle."
