"""Whisper's log-mel features in NumPy, as ``transformers.WhisperFeatureExtractor`` makes them.

Theory of operation
-------------------
Smart-turn v3 was trained on the features of ``WhisperFeatureExtractor(chunk_length=8)``
called with ``padding="max_length", max_length=128000, truncation=True, do_normalize=True``.
This module recomputes them without transformers (checked against it: the known-answer fixture
in ``tests/detectors``), for audio of exactly ``n_samples`` float samples at 16 kHz:

1. zero-mean, unit-variance normalisation of the waveform, in float32, ``var + 1e-7``;
2. a centred STFT: reflect-pad by ``n_fft // 2`` on each side, frames of ``n_fft = 400`` every
   ``hop = 160`` samples, a periodic Hann window, ``|rfft|²`` in float64 (201 bins);
3. 80 triangular mel filters on the Slaney scale (0–8 kHz), Slaney area-normalised, then
   ``log10(max(1e-10, ·))``;
4. drop the last frame (so 8 s give 800 frames), clamp to ``max - 8``, then ``(x + 4) / 4``.

The filter bank and window are built once, at import.  Pure NumPy, a few ms for 8 s.
"""

from __future__ import annotations

import numpy as np

RATE = 16000
N_FFT = 400
HOP = 160
N_MELS = 80
_MEL_FLOOR = 1e-10
_NORM_EPS = 1e-7


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz (3 mels per 200 Hz), logarithmic above."""
    mel = 3.0 * hz / 200.0
    above = hz >= 1000.0
    return np.where(
        above, 15.0 + np.log(np.maximum(hz, 1e-12) / 1000.0) * (27.0 / np.log(6.4)), mel
    )


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    hz = 200.0 * mel / 3.0
    above = mel >= 15.0
    return np.where(above, 1000.0 * np.exp(np.log(6.4) / 27.0 * (mel - 15.0)), hz)


def mel_filters(
    n_freqs: int = N_FFT // 2 + 1, n_mels: int = N_MELS, rate: int = RATE
) -> np.ndarray:
    """Slaney-normalised triangular filters, shape ``(n_freqs, n_mels)``, float64 (as
    ``transformers.audio_utils.mel_filter_bank(..., norm="slaney", mel_scale="slaney")``)."""
    mels = np.linspace(_hz_to_mel(np.array(0.0)), _hz_to_mel(np.array(rate / 2.0)), n_mels + 2)
    edges = _mel_to_hz(mels)
    fft_freqs = np.linspace(0, rate // 2, n_freqs)
    diff = np.diff(edges)
    slopes = edges[None, :] - fft_freqs[:, None]
    down = -slopes[:, :-2] / diff[:-1]
    up = slopes[:, 2:] / diff[1:]
    filters = np.maximum(0.0, np.minimum(down, up))
    filters *= (2.0 / (edges[2 : n_mels + 2] - edges[:n_mels]))[None, :]
    return filters


_WINDOW = np.hanning(N_FFT + 1)[:-1]  # periodic Hann, as torch.hann_window / window_function
_FILTERS_T = np.ascontiguousarray(mel_filters().T)


def log_mel(audio: np.ndarray) -> np.ndarray:
    """The ``(80, len(audio) // 160)`` float32 features of 1-D float audio at 16 kHz (see the
    module doc); ``audio`` is usually exactly 128,000 samples (8 s → 800 frames)."""
    if audio.ndim != 1:
        raise ValueError(f"audio must be one-dimensional, not of shape {audio.shape}")
    if len(audio) < N_FFT:
        raise ValueError(f"audio must have at least {N_FFT} samples, not {len(audio)}")
    x = np.asarray(audio, dtype=np.float32)
    x = (x - x.mean()) / np.sqrt(x.var() + np.float32(_NORM_EPS))
    padded = np.pad(x.astype(np.float64), N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    power = np.abs(np.fft.rfft(frames * _WINDOW, axis=-1)) ** 2  # (n_frames, 201)
    mel: np.ndarray = np.log10(np.maximum(_MEL_FLOOR, _FILTERS_T @ power.T))[:, :-1]
    mel = np.maximum(mel, mel.max() - 8.0)
    out: np.ndarray = ((mel + 4.0) / 4.0).astype(np.float32)
    return out
