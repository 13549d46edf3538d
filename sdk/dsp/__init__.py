"""The one signal pipeline shared by the phone runtime and the trainer.

Stages (each a function with explicit state, stream == batch):
:func:`resample` → :func:`filter_chunk` (gravity low-pass, band-pass) → :func:`compute_channels`
→ :func:`make_windows` → :class:`Normalizer`; :func:`preprocess` runs the first three on raw
sensor chunks, :func:`recording_windows` is the batch path used by the trainer.
"""

from momentsense.sdk.dsp.channels import CHANNELS, compute_channels
from momentsense.sdk.dsp.config import DEFAULT_CHANNELS, PreprocessConfig
from momentsense.sdk.dsp.filters import design_bandpass, design_lowpass, filter_chunk, filter_init
from momentsense.sdk.dsp.pipeline import ChannelChunk, PipelineState, pipeline_init, preprocess, recording_windows
from momentsense.sdk.dsp.resample import Gap, Resampled, ResamplerState, resample, resampler_init, segment_starts
from momentsense.sdk.dsp.validate import RepairReport, clean_stream
from momentsense.sdk.dsp.windows import Normalizer, Windows, WindowerState, make_windows, windower_init

__all__ = [
    "CHANNELS", "DEFAULT_CHANNELS", "ChannelChunk", "Gap", "Normalizer", "PipelineState", "PreprocessConfig",
    "RepairReport", "Resampled", "ResamplerState", "Windows", "WindowerState", "clean_stream", "compute_channels",
    "design_bandpass", "design_lowpass", "filter_chunk", "filter_init", "make_windows", "pipeline_init",
    "preprocess", "recording_windows", "resample", "resampler_init", "segment_starts", "windower_init",
]  # fmt: skip
