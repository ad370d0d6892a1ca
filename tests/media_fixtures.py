"""Small media files written with PyAV for the media and prepare tests (no shared data needed)."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

CONTAINERS = {
    # extension: (format, video codec, audio codec, pixel format)
    ".mp4": ("mp4", "libx264", "aac", "yuv420p"),
    ".avi": ("avi", "mpeg4", "pcm_s16le", "yuv420p"),
    ".mov": ("mov", "mpeg4", "aac", "yuv420p"),
    ".mkv": ("matroska", "mpeg4", "aac", "yuv420p"),
    ".webm": ("webm", "libvpx", "libopus", "yuv420p"),
    ".mpg": ("mpeg", "mpeg1video", "mp2", "yuv420p"),
}


def index_frames(count: int, size: tuple[int, int] = (48, 64)) -> np.ndarray:
    """Frames whose brightness encodes their index (index * 8 + 16), so re-timing is checkable."""
    h, w = size
    values = (16 + 8 * np.arange(count)) % 256
    return np.broadcast_to(values[:, None, None, None], (count, h, w, 3)).astype(np.uint8).copy()


def tone(seconds: float, rate: int = 16000, freq: float = 220.0, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(round(seconds * rate))) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 2 * t))).astype(np.float32)


def write_media(path: Path, frames: np.ndarray | None, audio: np.ndarray | None, fps: float = 25.0,
                sample_rate: int = 16000, timestamps_s: list[float] | None = None) -> Path:
    """Write ``frames`` (T,H,W,3) and ``audio`` with the container that ``path``'s suffix names.

    ``timestamps_s`` gives each frame its own presentation time (a variable-frame-rate file).
    """
    import av

    fmt, vcodec, acodec, pix = CONTAINERS[path.suffix]
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(path), "w", format=fmt) as out:
        vstream = astream = None
        if frames is not None:
            vstream = out.add_stream(vcodec, rate=rate if fmt != "mpeg" else 25)
            vstream.width, vstream.height = frames.shape[2], frames.shape[1]
            vstream.pix_fmt = pix
            if timestamps_s is not None:
                vstream.time_base = Fraction(1, 1000)
                vstream.codec_context.time_base = Fraction(1, 1000)
        if audio is not None:
            astream = out.add_stream(acodec, rate=48000 if acodec == "libopus" else sample_rate)
            astream.layout = "mono"
        if vstream is not None:
            for i, image in enumerate(frames):
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
                if timestamps_s is not None:
                    frame.pts = int(round(timestamps_s[i] * 1000))
                    frame.time_base = Fraction(1, 1000)
                else:
                    frame.pts = i
                for packet in vstream.encode(frame):
                    out.mux(packet)
            for packet in vstream.encode(None):
                out.mux(packet)
        if astream is not None:
            rate_out = astream.codec_context.sample_rate
            samples = audio if rate_out == sample_rate else np.interp(
                np.arange(int(len(audio) * rate_out / sample_rate)) * sample_rate / rate_out, np.arange(len(audio)), audio).astype(np.float32)
            fmt_name = astream.codec_context.format.name
            chunk = astream.codec_context.frame_size or 16384
            pts = 0
            for start in range(0, len(samples), chunk):
                piece = samples[start:start + chunk]
                if fmt_name.startswith("s16"):
                    data = (np.clip(piece, -1, 1) * 32767).astype(np.int16)[None, :]
                else:
                    data = piece.astype(np.float32)[None, :]
                if len(piece) < chunk and astream.codec_context.frame_size:
                    data = np.pad(data, ((0, 0), (0, chunk - len(piece))))
                frame = av.AudioFrame.from_ndarray(data, format=fmt_name, layout="mono")
                frame.sample_rate = rate_out
                frame.pts = pts
                pts += data.shape[1]
                for packet in astream.encode(frame):
                    out.mux(packet)
            for packet in astream.encode(None):
                out.mux(packet)
    return path


class StubTracker:
    """Stands in for MediaPipe where the batch logic, not tracking, is under test: the whole frame is the face."""

    def __init__(self, options=None, **_):
        from avcorr.media.face import TrackerOptions

        self.options = options or TrackerOptions()
        self.reset()

    def reset(self):
        self.frames = []

    def add(self, frame):
        import cv2

        self.frames.append(cv2.resize(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), (64, 64)))

    def finish(self, path="<frames>"):
        t = len(self.frames)
        h = w = 64
        boxes = np.tile(np.array([0, 0, w, h], np.float32), (t, 1))
        landmarks = np.zeros((t, 478, 3), np.float32)
        landmarks[:, :, 0] = w / 2
        landmarks[:, :, 1] = h * 0.75
        from avcorr.media.face import FaceTrack

        return FaceTrack(boxes=boxes, found=np.ones(t, bool), landmarks=landmarks, frame_size=(h, w),
                         regions=np.stack(self.frames), region_boxes=boxes.copy(), span=(0, t))

    def track(self, frames, path="<frames>"):
        self.reset()
        for frame in frames:
            self.add(frame)
        return self.finish(path)

    def close(self):
        pass


def faststart(src: Path, dst: Path) -> Path:
    """``src`` (mp4) remuxed with its index (moov) at the front."""
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams}
        for packet in inp.demux():
            if packet.dts is None:
                continue
            packet.stream = streams[packet.stream.index]
            out.mux(packet)
    return dst
