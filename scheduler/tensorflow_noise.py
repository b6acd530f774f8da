"""TensorFlow's start-up chatter, kept out of the worker logs and failure reasons shown to users.

On a machine without a GPU, importing TensorFlow prints that it probed for CUDA and found none, that
oneDNN is on, which CPU instructions it was not built for: lines that fill a failed run's last ten
lines and hide the run's real error. Training processes start with TF_CPP_MIN_LOG_LEVEL=2, which
silences TensorFlow's C++ info and warnings; what it prints anyway (before its logging starts, or
as errors, like the failed cuInit) is dropped here when shown. The log files keep every line.
"""

from __future__ import annotations

import re

# For the training processes: TensorFlow's C++ logs at error level only (0 all, 1 no info, 2 errors only).
QUIET_TENSORFLOW = {"TF_CPP_MIN_LOG_LEVEL": "2"}

# Printed on every machine, whatever it runs on.
_ALWAYS = (
    r"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$",
    r"oneDNN custom operations are on\.",
    r"This TensorFlow binary is optimized to use available CPU instructions",
    r"^To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags\.$",
)
# The CUDA probe: noise only where the worker was given no GPU (on a GPU worker it is the problem).
_CUDA_PROBE = (
    r"Could not find cuda drivers on your machine, GPU will not be used\.",
    r"failed call to cuInit",
    r"kernel driver does not appear to be running on this host",
    r"retrieving CUDA diagnostic information for host",
    r"\] hostname: ",
    r"Unable to register cu(DNN|FFT|BLAS) factory",
    r"TF-TRT Warning: Could not find TensorRT",
)
ALWAYS = re.compile("|".join(_ALWAYS))
CPU_ONLY = re.compile("|".join(_ALWAYS + _CUDA_PROBE))


def without_start_up_noise(text: str, *, gpu: bool) -> str:
    """`text` without TensorFlow's start-up lines; the CUDA probe's too unless the worker had a GPU."""
    noise = ALWAYS if gpu else CPU_ONLY
    return "\n".join(line for line in text.splitlines() if not noise.search(line))
