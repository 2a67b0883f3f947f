"""The capture actor: a source's audio cut into exact frames and handed on without waiting.

Theory of operation
-------------------
:class:`CaptureActor` reads an :class:`~rtagents.audio.AudioSource` in its own task, re-frames
the chunks into ``frame_ms`` frames (sample-exact boundaries: frame n ends at sample
⌊rate × frame_ms × (n + 1) / 1000⌋, so any rate works and nothing drifts), stamps each with the
trio time and an increasing ``seq``, and hands it to every output with ``send_nowait``: capture
never waits for a consumer.

Outputs are anything with ``send_nowait(frame)``.  In a session they are the uplink (which
converts the frame once, at the edge, to the model's format and queues it for the socket) and
the VAD actor (which decides on the frame itself), both running synchronously in this task: a
captured frame wakes no other task until the socket writer.  A bounded drop-oldest
:class:`~rtagents.audio.AudioQueue` is an output too (a slow reader loses its oldest frames,
counted by the queue).

By default frames keep the source's rate (conversion happens once, downstream); ``out_rate``
resamples here instead (native streaming resampler).  At the end of the source the resampler is
flushed, the last partial frame zero-padded, and (``close_outputs``) the outputs closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import attrs
import trio

from rtagents import native
from rtagents.audio.queue import AudioFrame
from rtagents.audio.sources import AudioSource


class FrameOutput(Protocol):
    def send_nowait(self, frame: AudioFrame, /) -> None: ...


@attrs.frozen(kw_only=True)
class CaptureStatistics:
    frames: int
    seconds: float
    resampling: bool
    output_drops: tuple[int, ...]  # frames each queue output dropped (oldest first); 0 else


class CaptureActor:
    """Re-frames a source into exact frames for its outputs; see the module docstring.

    ``close_outputs=False`` leaves the outputs open at the end (when other producers feed them
    too)."""

    def __init__(
        self,
        source: AudioSource,
        *,
        out_rate: int | None = None,
        frame_ms: int = 20,
        outputs: Sequence[FrameOutput],
        close_outputs: bool = True,
    ) -> None:
        if frame_ms <= 0:
            raise ValueError(f"frame_ms must be positive, not {frame_ms}")
        rate = source.rate if out_rate is None else out_rate
        if rate * frame_ms < 1000:
            raise ValueError(f"frame_ms={frame_ms} is less than one sample at {rate} Hz")
        self.source = source
        self.out_rate = rate
        self.frame_ms = frame_ms
        self.outputs = tuple(outputs)
        self.close_outputs = close_outputs
        self._resampler = native.Resampler(source.rate, rate) if source.rate != rate else None
        self._frames = 0

    def _frame_bytes(self, n: int) -> int:
        """Bytes of frame n (0-based): whole samples, boundaries exact over the stream."""
        per = self.out_rate * self.frame_ms
        return 2 * (per * (n + 1) // 1000 - per * n // 1000)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        pending = bytearray()
        chunks = self.source.frames()
        resampler = self._resampler
        try:
            async for chunk in chunks:
                if len(chunk) % 2:
                    raise ValueError("PCM16 audio must have an even number of bytes")
                pending += chunk if resampler is None else resampler.process(chunk)
                size = self._frame_bytes(self._frames)
                while len(pending) >= size:
                    self._emit(bytes(pending[:size]))
                    del pending[:size]
                    size = self._frame_bytes(self._frames)
            if resampler is not None:
                pending += resampler.flush()
            while pending:
                size = self._frame_bytes(self._frames)
                frame = bytes(pending[:size])
                del pending[:size]
                self._emit(frame + bytes(size - len(frame)))
        finally:
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:  # close the device now, not when garbage is collected
                with trio.CancelScope(shield=True), trio.move_on_after(1):
                    await aclose()
            if self.close_outputs:
                for output in self.outputs:
                    close = getattr(output, "close", None)
                    if close is not None:
                        close()

    def _emit(self, pcm: bytes) -> None:
        self._frames += 1
        frame = AudioFrame(pcm, self.out_rate, trio.current_time(), self._frames)
        for output in self.outputs:
            output.send_nowait(frame)

    def statistics(self) -> CaptureStatistics:
        def drops(output: object) -> int:
            stats = getattr(output, "statistics", None)
            return int(getattr(stats(), "dropped", 0)) if stats is not None else 0

        return CaptureStatistics(
            frames=self._frames,
            seconds=self._frames * self.frame_ms / 1000,
            resampling=self._resampler is not None,
            output_drops=tuple(drops(o) for o in self.outputs),
        )
