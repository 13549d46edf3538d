"""Quiet output for the ``momentsense`` CLI: TensorFlow's, XLA's and LiteRT's log lines hidden.

TensorFlow writes ``I0000 ...``/``W0000 ...`` lines from C++ before its log level is read (absl's
"All log messages before absl::InitializeLog()"), a CUDA ``cuInit`` error on machines without a
GPU, and LiteRT an ``INFO: Created TensorFlow Lite XNNPACK delegate`` line per interpreter. None of
them can be switched off from Python alone, so :class:`StderrFilter` reads file descriptor 2 through
a pipe and drops those lines; everything else (tqdm progress bars included) passes through at once.
``--verbose`` turns all of this off.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import warnings

#: Lines dropped from stderr: C++ log lines (severity letter + MMDD + time), absl's preamble,
#: LiteRT's delegate line, TensorFlow's CPU-feature notice.
NOISE = re.compile(
    rb"^(?:[IW]\d{4} \d\d:\d\d:\d\d"
    rb"|E\d{4} \d\d:\d\d:[\d.]+\s+\d+ cuda"
    rb"|WARNING: All log messages before absl"
    rb"|INFO: Created TensorFlow Lite"
    rb"|To enable the following instructions"
    rb"|WARNING:absl:"
    rb"|WARNING:tensorflow:)"
)
#: Bytes of a line read before deciding whether it is noise (the longest prefix above + margin).
DECIDE_AT = 48


class StderrFilter:
    """Context manager: file descriptor 2 goes through a pipe; noise lines are dropped.

    A line is passed on as soon as its first :data:`DECIDE_AT` bytes show it is not noise, so
    carriage-return progress bars stay live.
    """

    def __init__(self) -> None:
        self._saved: int | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "StderrFilter":
        try:
            sys.stderr.flush()
            saved = os.dup(2)
            r, w = os.pipe()
        except (OSError, ValueError):  # no real fd 2 (embedded interpreters, some test runners)
            return self
        os.dup2(w, 2)
        os.close(w)
        self._saved = saved
        self._thread = threading.Thread(target=self._pump, args=(r, saved), daemon=True, name="stderr-filter")
        self._thread.start()
        return self

    @staticmethod
    def _pump(r: int, out: int) -> None:
        buf, passing = b"", False
        while True:
            try:
                data = os.read(r, 65536)
            except OSError:
                break
            if not data:
                break
            buf += data
            while buf:
                if passing:  # the rest of a line already shown
                    nl = buf.find(b"\n")
                    os.write(out, buf if nl < 0 else buf[: nl + 1])
                    buf, passing = (b"", True) if nl < 0 else (buf[nl + 1:], False)
                    continue
                nl = buf.find(b"\n")
                head = buf if nl < 0 else buf[: nl + 1]
                if nl < 0 and len(head) < DECIDE_AT:
                    break  # wait for more bytes before deciding
                if NOISE.match(head.lstrip(b"\r")):
                    if nl < 0:
                        break  # drop the whole line once its end arrives
                    buf = buf[nl + 1:]
                    continue
                passing = True
        if buf and not NOISE.match(buf.lstrip(b"\r")):
            os.write(out, buf)
        os.close(r)

    def __exit__(self, *exc) -> None:
        if self._saved is None:
            return
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(self._saved, 2)  # closes this process's write end of the pipe
        if self._thread is not None:
            # Child processes may still hold the pipe open; do not wait for them.
            self._thread.join(timeout=2.0)
        os.close(self._saved)
        self._saved = None


def quiet_libraries() -> None:
    """Environment and logger settings read by TensorFlow, absl and Keras when they are imported:
    warnings and info from C++ and Python hidden (errors still shown). A value the user set wins."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    for name in ("tensorflow", "absl", "tf_keras", "keras", "h5py", "matplotlib", "jax"):
        logging.getLogger(name).setLevel(logging.ERROR)
    for module in (r"tensorflow.*", r"tf_keras.*", r"keras.*", r"tensorflow_model_optimization.*", r"google\.protobuf.*",
                   r"absl.*", r"h5py.*", r"ai_edge_litert.*"):  # fmt: skip
        warnings.filterwarnings("ignore", module=module)
