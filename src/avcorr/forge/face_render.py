"""A parametric 2-D talking face drawn with OpenCV: varied identities, shaded skin, moving mouth.

The renderer draws one person (:class:`FaceIdentity`) frame by frame. What stays still is drawn
once: the background, the shoulders and neck, and the head's base layer (shaded skin over an
ellipsoid lit from one side, cheeks, eye sockets, nose, ears, hair). Each frame then draws the
parts that move — eyes with blinks and gaze, brows, the jaw (the lower face is displaced down
as the mouth opens) and the mouth from its articulation (lip aperture, width, rounding, closure,
lower lip under the upper teeth, teeth, tongue) — warps the head by the frame's pose, lays it
over the body and background, and adds lighting flicker, optical blur and sensor noise.
Sizes are fractions of the frame side unless stated; colours are RGB floats in [0, 255].
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

_SHIFT = 4  # sub-pixel bits for OpenCV drawing
_ONE = 1 << _SHIFT

SKIN_TONES = np.array([
    (242, 212, 190), (236, 196, 168), (226, 180, 150), (210, 160, 125), (198, 144, 108),
    (176, 122, 88), (150, 100, 70), (124, 82, 58), (100, 66, 46), (82, 54, 40),
], np.float32)
HAIR_COLOURS = np.array([
    (22, 18, 16), (40, 28, 20), (66, 44, 28), (96, 64, 40), (140, 100, 60), (196, 160, 100),
    (120, 56, 30), (150, 150, 150), (200, 200, 196),
], np.float32)
IRIS_COLOURS = np.array([(70, 45, 25), (100, 66, 36), (60, 90, 120), (80, 110, 80), (120, 100, 60), (40, 30, 24)], np.float32)
HAIR_STYLES = ("short", "long", "bob", "buzz", "bald", "bun")


@dataclass(frozen=True)
class FaceIdentity:
    """Everything that makes one synthetic person; see :meth:`sample`."""

    identity_id: str
    skin: tuple[float, float, float]
    face_half_width: float      # fraction of frame side
    face_aspect: float          # half-height / half-width
    chin_taper: float           # 0 round … 1 pointed
    jaw_width: float            # 0.8 narrow … 1.1 square
    eye_spacing: float          # eye centre offset / face half-width
    eye_size: float             # eye half-width / face half-width
    eye_height: float           # eye opening / eye width
    iris: tuple[float, float, float]
    brow_thickness: float
    brow_arch: float
    brow_colour: tuple[float, float, float]
    nose_length: float          # / face half-height
    nose_width: float           # / face half-width
    mouth_width: float          # mouth half-width / face half-width
    upper_lip: float            # thickness / mouth half-width
    lower_lip: float
    lip_colour: tuple[float, float, float]
    hair_style: str
    hair_colour: tuple[float, float, float]
    hair_volume: float
    beard: float                # 0 none … 1 full stubble shadow
    clothing: tuple[float, float, float]
    background: tuple[tuple[float, float, float], tuple[float, float, float]]
    background_blobs: int
    light_x: float              # light direction, −1 left … 1 right
    light_y: float              # −1 above … 1 below
    light_tint: tuple[float, float, float]
    ambient: float
    articulation: float         # how wide this speaker opens the mouth
    head_y: float               # head centre height, fraction of frame side
    head_x: float

    @staticmethod
    def sample(rng: np.random.Generator, identity_id: str) -> "FaceIdentity":
        """A random, plausible person (skin tones from light to dark, several hair styles)."""
        skin = _mix(SKIN_TONES, rng.uniform(0, len(SKIN_TONES) - 1)) * rng.uniform(0.95, 1.05, 3)
        hair = HAIR_COLOURS[int(rng.integers(len(HAIR_COLOURS)))] * rng.uniform(0.85, 1.15)
        if skin.mean() < 140 and rng.random() < 0.7:
            hair = HAIR_COLOURS[int(rng.integers(0, 3))]
        lip = skin * np.array([0.82, 0.52, 0.54]) + np.array([32, 4, 10]) * rng.uniform(0.6, 1.4)
        # rooms are mostly muted: walls, curtains, studio backdrops; sometimes a coloured one
        bg_a = _hsv(rng.uniform(0, 360), rng.uniform(0.0, 0.3) if rng.random() < 0.8 else rng.uniform(0.3, 0.7),
                    rng.uniform(0.25, 0.9))
        bg_b = np.clip(bg_a * rng.uniform(0.6, 1.1) + rng.normal(0, 12, 3), 10, 245)
        style = str(rng.choice(HAIR_STYLES, p=[0.3, 0.22, 0.16, 0.12, 0.08, 0.12]))
        warm = rng.uniform(-1, 1)
        return FaceIdentity(
            identity_id=identity_id,
            skin=tuple(np.clip(skin, 30, 250).tolist()),
            face_half_width=float(rng.uniform(0.15, 0.23)),
            face_aspect=float(rng.uniform(1.22, 1.42)),
            chin_taper=float(rng.uniform(0.15, 0.55)),
            jaw_width=float(rng.uniform(0.85, 1.08)),
            eye_spacing=float(rng.uniform(0.36, 0.44)),
            eye_size=float(rng.uniform(0.22, 0.27)),
            eye_height=float(rng.uniform(0.38, 0.50)),
            iris=tuple((IRIS_COLOURS[int(rng.integers(len(IRIS_COLOURS)))] * rng.uniform(0.8, 1.2)).tolist()),
            brow_thickness=float(rng.uniform(0.035, 0.07)),
            brow_arch=float(rng.uniform(0.02, 0.08)),
            brow_colour=tuple(np.clip(hair * 0.8, 10, 200).tolist()),
            nose_length=float(rng.uniform(0.36, 0.46)),
            nose_width=float(rng.uniform(0.17, 0.25)),
            mouth_width=float(rng.uniform(0.36, 0.46)),
            upper_lip=float(rng.uniform(0.24, 0.36)),
            lower_lip=float(rng.uniform(0.30, 0.45)),
            lip_colour=tuple(np.clip(lip, 20, 240).tolist()),
            hair_style=style,
            hair_colour=tuple(np.clip(hair, 5, 240).tolist()),
            hair_volume=float(rng.uniform(0.04, 0.12)),
            beard=float(rng.uniform(0.2, 0.6)) if rng.random() < 0.25 else 0.0,
            clothing=tuple(_hsv(rng.uniform(0, 360), rng.uniform(0.0, 0.65), rng.uniform(0.1, 0.9)).tolist()),
            background=(tuple(bg_a.tolist()), tuple(bg_b.tolist())),
            background_blobs=int(rng.integers(0, 6)),
            light_x=float(rng.uniform(-0.7, 0.7)),
            light_y=float(rng.uniform(-0.6, -0.1)),
            light_tint=(1.0 + 0.06 * warm, 1.0, 1.0 - 0.06 * warm),
            ambient=float(rng.uniform(0.45, 0.6)),
            articulation=float(rng.uniform(0.8, 1.15)),
            head_y=float(rng.uniform(0.44, 0.5)),
            head_x=float(rng.uniform(0.46, 0.54)),
        )


def _hsv(hue_deg: float, saturation: float, value: float) -> np.ndarray:
    """RGB in [0, 255] of a colour given as hue (degrees), saturation and value in [0, 1]."""
    pixel = np.array([[[hue_deg / 2.0, saturation * 255.0, value * 255.0]]], np.float32)
    return cv2.cvtColor(pixel.astype(np.uint8), cv2.COLOR_HSV2RGB)[0, 0].astype(np.float32)


def _mix(palette: np.ndarray, position: float) -> np.ndarray:
    i = int(np.floor(position))
    j = min(i + 1, len(palette) - 1)
    w = position - i
    return palette[i] * (1 - w) + palette[j] * w


def _pts(points: np.ndarray) -> np.ndarray:
    """Float (N, 2) pixel points → OpenCV fixed-point int32 (N, 1, 2)."""
    return np.round(np.asarray(points, np.float64) * _ONE).astype(np.int32).reshape(-1, 1, 2)


def _fill(image: np.ndarray, points: np.ndarray, colour) -> None:
    cv2.fillPoly(image, [_pts(points)], _colour(image, colour), lineType=cv2.LINE_AA, shift=_SHIFT)


def _line(image: np.ndarray, points: np.ndarray, colour, thickness: float, closed: bool = False) -> None:
    cv2.polylines(image, [_pts(points)], closed, _colour(image, colour), max(1, int(round(thickness))),
                  lineType=cv2.LINE_AA, shift=_SHIFT)


def _colour(image: np.ndarray, colour) -> tuple:
    if np.isscalar(colour):
        return (float(colour),) * (image.shape[2] if image.ndim == 3 else 1)
    return tuple(float(c) for c in colour)


def _ellipse_points(cx: float, cy: float, rx: float, ry: float, n: int = 48, start: float = 0.0, end: float = 2 * np.pi) -> np.ndarray:
    a = np.linspace(start, end, n)
    return np.stack([cx + rx * np.cos(a), cy + ry * np.sin(a)], axis=1)


def _gaussian_blob(shape: tuple[int, int], cx: float, cy: float, sx: float, sy: float) -> np.ndarray:
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32)
    return np.exp(-(((xx - cx) / max(sx, 1e-3)) ** 2 + ((yy - cy) / max(sy, 1e-3)) ** 2) / 2)


class FaceRenderer:
    """Renders frames of one identity at ``size`` × ``size`` pixels (RGB uint8)."""

    def __init__(self, identity: FaceIdentity, size: int = 256, seed: int = 0) -> None:
        self.identity = identity
        self.size = int(size)
        self.rng = np.random.default_rng(seed)
        s = self.size
        self.a = identity.face_half_width * s
        self.b = self.a * identity.face_aspect
        # the head layer is as big as the frame, with the head centred at (cx, cy) pixels
        self.cx = s * identity.head_x
        self.cy = s * identity.head_y
        self.eye_y = self.cy - 0.13 * self.b
        self.eye_dx = identity.eye_spacing * self.a
        self.eye_w = identity.eye_size * self.a
        self.nose_tip_y = self.eye_y + identity.nose_length * self.b
        self.mouth_y = self.nose_tip_y + 0.5 * (self.cy + self.b - self.nose_tip_y) * 0.62
        self.mouth_w = identity.mouth_width * self.a
        self.background = self._draw_background()
        self.head_rgb, self.head_alpha = self._draw_head_base()
        self.pivot = np.array([self.cx, self.cy + 0.9 * self.b])
        ys, xs = np.nonzero(self.head_alpha > 0.01)
        margin = 0.08 * s  # room for the jaw drop
        hx0, hx1 = xs.min() - 2, xs.max() + 2
        hy0, hy1 = ys.min() - 2, ys.max() + margin
        self.head_box_corners = np.array([[hx0, hy0], [hx1, hy0], [hx1, hy1], [hx0, hy1]], np.float64)
        self._prepare_deformation()

    # ------------------------------------------------------------------ static layers
    def _draw_background(self) -> np.ndarray:
        s = self.size
        ident = self.identity
        a = np.array(ident.background[0], np.float32)
        b = np.array(ident.background[1], np.float32)
        angle = self.rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:s, 0:s].astype(np.float32) / s
        ramp = np.clip(0.5 + (xx - 0.5) * np.cos(angle) + (yy - 0.5) * np.sin(angle), 0, 1)[..., None]
        bg = a * (1 - ramp) + b * ramp
        for _ in range(ident.background_blobs):  # out-of-focus objects of the room
            colour = _hsv(self.rng.uniform(0, 360), self.rng.uniform(0.0, 0.5), self.rng.uniform(0.2, 0.95))
            blob = _gaussian_blob((s, s), self.rng.uniform(0, s), self.rng.uniform(0, s * 0.7),
                                  self.rng.uniform(0.05, 0.2) * s, self.rng.uniform(0.05, 0.3) * s)[..., None]
            bg = bg * (1 - 0.6 * blob) + colour * 0.6 * blob
        if self.rng.random() < 0.4:  # a wall edge or door frame
            x = self.rng.uniform(0.05, 0.95) * s
            width = self.rng.uniform(0.01, 0.06) * s
            edge = np.clip(1 - np.abs(xx * s - x) / width, 0, 1)[..., None]
            bg = bg * (1 - 0.3 * edge)
        vignette = 1.0 - 0.25 * (((xx - 0.5) ** 2 + (yy - 0.5) ** 2) * 2)[..., None]
        bg = bg * vignette
        # shoulders and neck (they do not turn with the head)
        skin = np.array(ident.skin, np.float32)
        body = np.zeros((s, s, 3), np.float32)
        mask = np.zeros((s, s), np.float32)
        neck_w = self.a * 0.5 * ident.jaw_width
        neck_top = self.cy + 0.55 * self.b
        shoulder_y = self.cy + self.b + 0.75 * self.a
        ts = np.linspace(0, 1, 12)
        flare = neck_w * (1 + 0.9 * ts ** 3)  # the neck widens into the shoulders
        left = np.stack([self.cx - flare, neck_top + ts * (shoulder_y + 0.3 * self.a - neck_top)], 1)
        right = np.stack([self.cx + flare, neck_top + ts * (shoulder_y + 0.3 * self.a - neck_top)], 1)
        _fill(mask, np.concatenate([left, right[::-1]]), 1.0)
        collar_y = self.cy + self.b + 0.45 * self.a
        collar = _ellipse_points(self.cx, collar_y, neck_w * 1.35, 0.6 * self.a, 32, 0, np.pi)
        collar_mask = np.zeros((s, s), np.float32)
        _fill(collar_mask, np.concatenate([collar, [[self.cx - neck_w * 1.35, collar_y - self.a]], [[self.cx + neck_w * 1.35, collar_y - self.a]]]), 1.0)
        mask = np.maximum(mask, collar_mask * (yy * s > neck_top))
        across = (xx * s - self.cx) / (neck_w * 1.5)
        shade = np.clip(0.8 + 0.15 * across * self.identity.light_x - 0.1 * across ** 2, 0.55, 0.98)
        body = body + (mask[..., None] * skin * shade[..., None] * np.array(ident.light_tint, np.float32))
        shoulders = _ellipse_points(self.cx, shoulder_y + 1.0 * self.a, 2.7 * self.a, 1.25 * self.a, 64)
        cloth_mask = np.zeros((s, s), np.float32)
        _fill(cloth_mask, shoulders, 1.0)
        cloth_mask = np.clip(cloth_mask - collar_mask, 0, 1)
        fold = cv2.GaussianBlur(self.rng.standard_normal((s, s)).astype(np.float32), (0, 0), 0.04 * s + 0.5)
        fold = fold / (fold.std() + 1e-6)
        cloth = np.array(ident.clothing, np.float32) * (0.8 + 0.2 * np.clip(1 - (yy * s - shoulder_y) / (self.a * 2), 0, 1) + 0.05 * fold)[..., None]
        body_mask = np.maximum(mask, cloth_mask)
        body = body * (1 - cloth_mask[..., None]) + cloth * cloth_mask[..., None]
        # shadow of the head on the neck
        chin_shadow = _gaussian_blob((s, s), self.cx, self.cy + self.b + 0.05 * self.a, self.a * 0.6, self.a * 0.22)
        body = body * (1 - 0.35 * chin_shadow[..., None] * mask[..., None])
        out = bg * (1 - body_mask[..., None]) + body * body_mask[..., None]
        if ident.hair_style in ("long",):  # long hair falls behind the shoulders
            hair_mask = np.zeros((s, s), np.float32)
            back = np.array([[self.cx - self.a * 1.25, self.cy], [self.cx + self.a * 1.25, self.cy],
                             [self.cx + self.a * 1.35, self.cy + self.b + 0.9 * self.a],
                             [self.cx - self.a * 1.35, self.cy + self.b + 0.9 * self.a]])
            _fill(hair_mask, back, 1.0)
            hair_mask = cv2.GaussianBlur(hair_mask, (0, 0), 1.2)
            hair = self._hair_texture((s, s))
            out = out * (1 - hair_mask[..., None]) + hair * hair_mask[..., None]
        return out.astype(np.float32)

    def _hair_texture(self, shape: tuple[int, int]) -> np.ndarray:
        colour = np.array(self.identity.hair_colour, np.float32)
        noise = self.rng.standard_normal(shape).astype(np.float32)
        strands = cv2.GaussianBlur(noise, (0, 0), sigmaX=0.6, sigmaY=4.0)
        strands = strands / (strands.std() + 1e-6)
        yy = np.mgrid[0:shape[0], 0:shape[1]][0].astype(np.float32)
        sheen = 1.0 + 0.25 * np.exp(-((yy - (self.cy - 0.85 * self.b)) / (0.15 * self.b)) ** 2)
        tex = colour * (1.0 + 0.12 * strands)[..., None] * sheen[..., None]
        return np.clip(tex + 6 * strands[..., None], 0, 255)

    def _face_outline(self, n: int = 96) -> np.ndarray:
        ident = self.identity
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        x = np.cos(t)
        y = np.sin(t)
        lower = np.clip(y, 0, 1)
        taper = 1.0 - ident.chin_taper * lower ** 2.2 * 0.55
        jaw = 1.0 + (ident.jaw_width - 1.0) * np.exp(-((y - 0.55) / 0.25) ** 2)
        xs = self.cx + self.a * x * taper * jaw
        ys = self.cy + self.b * y * (1.0 - 0.06 * (y < 0))
        return np.stack([xs, ys], axis=1)

    def _draw_head_base(self) -> tuple[np.ndarray, np.ndarray]:
        s = self.size
        ident = self.identity
        rgb = np.zeros((s, s, 3), np.float32)
        alpha = np.zeros((s, s), np.float32)
        skin = np.array(ident.skin, np.float32)
        tint = np.array(ident.light_tint, np.float32)
        yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)

        # ears
        for side in (-1, 1):
            ear = _ellipse_points(self.cx + side * self.a * 0.98, self.eye_y + 0.22 * self.b, self.a * 0.14, self.b * 0.2)
            ear_mask = np.zeros((s, s), np.float32)
            _fill(ear_mask, ear, 1.0)
            shade = 0.75 + 0.15 * side * ident.light_x
            rgb += ear_mask[..., None] * skin * shade * tint
            alpha = np.maximum(alpha, ear_mask)
            inner = _ellipse_points(self.cx + side * self.a * 1.0, self.eye_y + 0.22 * self.b, self.a * 0.07, self.b * 0.12)
            inner_mask = np.zeros((s, s), np.float32)
            _fill(inner_mask, inner, 1.0)
            rgb = rgb * (1 - 0.25 * inner_mask[..., None])

        face_mask = np.zeros((s, s), np.float32)
        _fill(face_mask, self._face_outline(), 1.0)
        # Lambertian shading on an ellipsoid (the face bulges towards the camera)
        nx = (xx - self.cx) / (self.a * 1.05)
        ny = (yy - self.cy) / (self.b * 1.05)
        nz = np.sqrt(np.clip(1 - nx ** 2 - ny ** 2, 0.02, 1))
        light = np.array([ident.light_x, ident.light_y, 1.2], np.float32)
        light /= np.linalg.norm(light)
        diffuse = np.clip(nx * light[0] + ny * light[1] + nz * light[2], 0, 1)
        shade = ident.ambient + (1 - ident.ambient) * diffuse
        spec = 0.10 * diffuse ** 12
        face = skin * shade[..., None] * tint + 255 * spec[..., None]
        # warm cheeks, darker eye sockets, forehead sheen
        for side in (-1, 1):
            cheek = _gaussian_blob((s, s), self.cx + side * 0.5 * self.a, self.cy + 0.25 * self.b, 0.2 * self.a, 0.16 * self.b)
            face = face * (1 - 0.10 * cheek[..., None]) + np.array([210, 90, 90]) * 0.10 * cheek[..., None] * shade[..., None]
            socket = _gaussian_blob((s, s), self.cx + side * self.eye_dx, self.eye_y, 0.7 * self.eye_w, 0.45 * self.eye_w)
            face = face * (1 - 0.22 * socket[..., None])
        # nose: bridge shadow on the side away from the light, tip highlight, nostrils, philtrum
        side = -1 if ident.light_x >= 0 else 1
        nose_w = ident.nose_width * self.a
        bridge = np.clip(1 - np.abs(xx - (self.cx + side * nose_w * 0.45)) / (nose_w * 0.35), 0, 1)
        bridge *= ((yy > self.eye_y) & (yy < self.nose_tip_y)).astype(np.float32)
        bridge = cv2.GaussianBlur(bridge, (0, 0), max(1.0, nose_w * 0.2))
        face = face * (1 - 0.18 * bridge[..., None])
        tip = _gaussian_blob((s, s), self.cx - side * nose_w * 0.1, self.nose_tip_y - 0.04 * self.b, nose_w * 0.35, nose_w * 0.3)
        face = face + 22 * tip[..., None]
        under = _gaussian_blob((s, s), self.cx, self.nose_tip_y + 0.05 * self.b, nose_w * 0.9, 0.04 * self.b)
        face = face * (1 - 0.25 * under[..., None])
        philtrum = _gaussian_blob((s, s), self.cx, 0.5 * (self.nose_tip_y + self.mouth_y), 0.08 * self.a, 0.05 * self.b)
        face = face * (1 - 0.08 * philtrum[..., None])
        chin_dimple = _gaussian_blob((s, s), self.cx, self.mouth_y + 0.45 * (self.cy + self.b - self.mouth_y), 0.25 * self.a, 0.06 * self.b)
        face = face + 10 * chin_dimple[..., None] * (shade[..., None] > 0.6)
        if ident.beard > 0:
            beard = np.clip((yy - self.mouth_y + 0.12 * self.b) / (0.2 * self.b), 0, 1) * face_mask
            beard *= np.clip(1 - np.abs(xx - self.cx) / (self.a * 1.2), 0, 1) ** 0.3
            grain = cv2.GaussianBlur(self.rng.standard_normal((s, s)).astype(np.float32), (0, 0), 0.7)
            beard_col = np.array(ident.hair_colour, np.float32) * 0.9
            w = (ident.beard * 0.45 * beard * (0.8 + 0.2 * grain))[..., None]
            face = face * (1 - w) + beard_col * w
        # pores: faint texture
        pores = cv2.GaussianBlur(self.rng.standard_normal((s, s)).astype(np.float32), (0, 0), 0.8)
        face = face * (1 + 0.025 * pores[..., None])
        rgb = rgb * (1 - face_mask[..., None]) + face * face_mask[..., None]
        alpha = np.maximum(alpha, face_mask)
        # the face's edge turns away from the light: darken a soft rim
        rim = face_mask - cv2.erode(face_mask, np.ones((3, 3), np.uint8), iterations=max(1, int(0.04 * self.a)))
        rim = cv2.GaussianBlur(rim, (0, 0), 0.03 * self.a + 0.5)
        rgb = rgb * (1 - 0.25 * rim[..., None])
        # nasolabial folds: from the nose wings towards the mouth corners
        folds = np.zeros((s, s), np.float32)
        depth = self.rng.uniform(0.04, 0.16)
        for sx in (-1, 1):
            ts = np.linspace(0, 1, 12)[:, None]
            start = np.array([self.cx + sx * nose_w * 0.75, self.nose_tip_y - 0.02 * self.b])
            end = np.array([self.cx + sx * self.mouth_w * 1.25, self.mouth_y + 0.08 * self.b])
            bend = np.array([sx * 0.08 * self.a, 0.0])
            _line(folds, start * (1 - ts) + end * ts + bend * np.sin(np.pi * ts), 1.0, max(1.0, 0.01 * s))
        folds = cv2.GaussianBlur(folds, (0, 0), 0.012 * s + 0.6)
        rgb = rgb * (1 - depth * folds[..., None])
        # nostrils
        for sx in (-1, 1):
            nostril = _ellipse_points(self.cx + sx * nose_w * 0.36, self.nose_tip_y + 0.01 * self.b, nose_w * 0.16, nose_w * 0.08, 24)
            tmp = rgb.copy()
            _fill(tmp, nostril, skin * 0.45)
            w = 0.6
            rgb = rgb * (1 - w) + tmp * w
            ala = _ellipse_points(self.cx + sx * nose_w * 0.62, self.nose_tip_y - 0.02 * self.b, nose_w * 0.3, nose_w * 0.3, 24, np.pi * 0.6 if sx > 0 else -np.pi * 0.4, np.pi * 1.3 if sx > 0 else np.pi * 0.4)
            _line(rgb, ala, skin * 0.72, max(1.0, 0.008 * s))

        rgb, alpha = self._draw_hair(rgb, alpha)
        return rgb, alpha

    def _draw_hair(self, rgb: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ident = self.identity
        s = self.size
        style = ident.hair_style
        if style == "bald":
            return rgb, alpha
        texture = self._hair_texture((s, s))
        mask = np.zeros((s, s), np.float32)
        vol = ident.hair_volume * self.a / 0.2 * 0.2 + 0.04 * self.a
        hairline = self.cy - self.b * self.rng.uniform(0.55, 0.7)
        top = _ellipse_points(self.cx, self.cy - 0.05 * self.b, self.a * 1.04 + vol, self.b * 1.0 + vol, 64, np.pi, 2 * np.pi)
        if style == "buzz":
            cap = np.concatenate([top, [[self.cx + self.a * 0.95, self.eye_y - 0.15 * self.b]],
                                  [[self.cx, hairline]], [[self.cx - self.a * 0.95, self.eye_y - 0.15 * self.b]]])
            _fill(mask, cap, 1.0)
            mask = cv2.GaussianBlur(mask, (0, 0), 1.0) * 0.75
        else:
            part = self.rng.uniform(-0.5, 0.5) * self.a
            # hairline: temples, a parting and an irregular fringe (a jagged edge of strands)
            ts = np.linspace(0, 1, 41)
            span_x = (self.a * 1.02 + vol * 0.5) * (1 - 2 * ts)
            depth = 0.12 * self.b * np.exp(-((span_x - part) / (0.35 * self.a)) ** 2)  # the parting lifts the hair
            temple = (self.eye_y - 0.05 * self.b - hairline) * np.clip(np.abs(span_x) / self.a - 0.6, 0, 1) / 0.4
            jag = self.rng.uniform(-1, 1, len(ts)) * 0.025 * self.b
            fringe = np.stack([self.cx + span_x, hairline + temple - depth + jag], 1)
            _fill(mask, np.concatenate([top, fringe]), 1.0)
            if style in ("long", "bob"):
                length = self.b * (1.05 if style == "long" else 0.55)
                for side in (-1, 1):
                    curtain = np.array([
                        [self.cx + side * (self.a * 0.9), self.cy - 0.6 * self.b],
                        [self.cx + side * (self.a * 1.1 + vol), self.cy - 0.3 * self.b],
                        [self.cx + side * (self.a * 1.15 + vol), self.cy + length * 0.6],
                        [self.cx + side * (self.a * 1.05 + vol * 0.5), self.cy + length],
                        [self.cx + side * (self.a * 0.9), self.cy + length * 0.9],
                        [self.cx + side * (self.a * 0.93), self.cy],
                    ])
                    _fill(mask, curtain, 1.0)
            if style == "bun":
                bun = _ellipse_points(self.cx, self.cy - self.b - vol * 1.5, self.a * 0.4, self.a * 0.32)
                _fill(mask, bun, 1.0)
            mask = cv2.GaussianBlur(mask, (0, 0), 0.8)
        # hair casts a little shadow on the forehead
        shadow = cv2.GaussianBlur(mask, (0, 0), 0.06 * self.a + 0.5)
        rgb = rgb * (1 - 0.3 * np.clip(shadow - mask, 0, 1)[..., None])
        rgb = rgb * (1 - mask[..., None]) + texture * mask[..., None]
        alpha = np.maximum(alpha, mask)
        return rgb, alpha

    # ------------------------------------------------------------------ per-frame parts
    def _draw_eyes(self, rgb: np.ndarray, blink: float, gaze_x: float, gaze_y: float, brow: float,
                   shift: tuple[float, float] = (0.0, 0.0)) -> None:
        ident = self.identity
        skin = np.array(ident.skin, np.float32)
        s = self.size
        w = self.eye_w
        h = w * ident.eye_height
        openness = float(np.clip(1.0 - blink, 0.0, 1.0))
        for side in (-1, 1):
            ex = self.cx + side * self.eye_dx + shift[0]
            ey = self.eye_y + shift[1]
            xs = np.linspace(-1, 1, 25)
            inner_bias = side * 0.15  # the inner corner sits a little lower
            upper = np.stack([ex + w * xs, ey - h * (1 - xs ** 2) ** 0.8 * (0.2 + 0.8 * openness) + h * 0.12 * xs * inner_bias], 1)
            lower = np.stack([ex + w * xs[::-1], ey + h * 0.55 * (1 - xs[::-1] ** 2) ** 1.1 + h * 0.12 * xs[::-1] * inner_bias], 1)
            x0, x1 = int(ex - w - 3), int(ex + w + 4)
            y0, y1 = int(ey - h - 3), int(ey + h + 4)
            x0, y0 = max(x0, 0), max(y0, 0)
            roi = rgb[y0:y1, x0:x1]
            offset = np.array([x0, y0])
            # upper lid crease and lid skin
            crease = np.stack([ex + w * 1.05 * xs, ey - h * 1.25 - 0.15 * h * (1 - xs ** 2) - h * 0.2 * (1 - openness) + h * 0.12 * xs * inner_bias], 1)
            _line(roi, crease - offset, skin * 0.72, max(1.0, 0.008 * s))
            if openness > 0.05:
                eye_mask = np.zeros(roi.shape[:2], np.float32)
                almond = np.concatenate([upper, lower]) - offset
                _fill(eye_mask, almond, 1.0)
                eye = np.empty_like(roi)
                eye[:] = np.array([236, 232, 226], np.float32) * (0.8 + 0.15 * ident.ambient)
                iris_r = h * 0.95
                ix = ex + gaze_x * w * 0.35 - x0
                iy = ey + gaze_y * h * 0.3 - y0
                iris = np.array(ident.iris, np.float32)
                cv2.circle(eye, (int(ix * _ONE), int(iy * _ONE)), int(iris_r * _ONE), tuple(float(c) for c in iris), -1, cv2.LINE_AA, _SHIFT)
                cv2.circle(eye, (int(ix * _ONE), int(iy * _ONE)), int(iris_r * _ONE), tuple(float(c) * 0.55 for c in iris), max(1, int(0.006 * s)), cv2.LINE_AA, _SHIFT)
                cv2.circle(eye, (int(ix * _ONE), int(iy * _ONE)), int(iris_r * 0.45 * _ONE), (12.0, 10.0, 10.0), -1, cv2.LINE_AA, _SHIFT)
                cv2.circle(eye, (int((ix + iris_r * 0.35) * _ONE), int((iy - iris_r * 0.35) * _ONE)), int(max(0.8, iris_r * 0.18) * _ONE), (250.0, 250.0, 250.0), -1, cv2.LINE_AA, _SHIFT)
                # the upper lid shades the top of the eyeball
                shade = np.clip((np.arange(roi.shape[0])[:, None] - (ey - h * openness - y0)) / (h * 0.8 + 1e-3), 0, 1)
                eye = eye * (0.7 + 0.3 * shade[..., None])
                roi[:] = roi * (1 - eye_mask[..., None]) + eye * eye_mask[..., None]
            # lids: a dark upper line (lashes) and a faint lower one
            _line(roi, upper - offset, np.array([30, 22, 20], np.float32), max(1.0, 0.014 * s))
            _line(roi, lower - offset, skin * 0.7, max(1.0, 0.006 * s))
            # brows
            bx = np.linspace(-1.1, 1.2, 12)
            brow_y = ey - h * 2.1 - brow * h * 0.8 - ident.brow_arch * self.b * (1 - (bx - 0.1) ** 2) * 0.8
            brow_pts = np.stack([ex + side * w * bx * 1.05, brow_y + np.where(bx < 0, 0.1 * h * (-bx), 0)], 1)
            thick = ident.brow_thickness * self.b * np.linspace(1.2, 0.6, len(bx))
            poly = np.concatenate([brow_pts - np.stack([np.zeros_like(thick), thick / 2], 1),
                                   (brow_pts + np.stack([np.zeros_like(thick), thick / 2], 1))[::-1]])
            bx0, by0 = np.maximum(np.floor(poly.min(axis=0)).astype(int) - 2, 0)
            bx1, by1 = np.minimum(np.ceil(poly.max(axis=0)).astype(int) + 3, s)
            if bx1 > bx0 and by1 > by0:
                roi = rgb[by0:by1, bx0:bx1]
                layer = roi.copy()
                _fill(layer, poly - np.array([bx0, by0]), np.array(ident.brow_colour, np.float32))
                roi[:] = roi * 0.2 + layer * 0.8

    def _prepare_deformation(self) -> None:
        """Grids for :meth:`_deform` over the head box: depth of the face surface and jaw weights."""
        s = self.size
        (x0, y0), (x1, y1) = self.head_box_corners[0], self.head_box_corners[2]
        self.deform_box = (int(max(0, x0)), int(max(0, y0)), int(min(s, x1)), int(min(s, y1)))
        bx0, by0, bx1, by1 = self.deform_box
        ys, xs = np.mgrid[by0:by1, bx0:bx1].astype(np.float32)
        self.grid_x, self.grid_y = xs, ys
        self.depth = self._depth(xs, ys).astype(np.float32)
        weight = np.clip((ys - (self.mouth_y - 0.2 * self.b)) / (0.25 * self.b), 0, 1)
        weight = weight * weight * (3 - 2 * weight)
        side_fall = np.clip(1.2 - np.abs(xs - self.cx) / (self.a * 1.1), 0, 1)  # the jaw hinges at the ears
        self.jaw_weight = (weight * side_fall).astype(np.float32)
        self.yaw_px = 0.22 * self.a
        self.pitch_px = 0.10 * self.b

    def _depth(self, x, y):
        """How far the face surface at (x, y) stands towards the camera, 0 (silhouette) … 1 (centre)."""
        return np.sqrt(np.clip(1 - ((x - self.cx) / (1.05 * self.a)) ** 2 - ((y - self.cy) / (1.05 * self.b)) ** 2, 0, 1))

    def _deform(self, drop: float, yaw: float, pitch: float) -> tuple[np.ndarray, np.ndarray]:
        """The head base with the lower face dropped by ``drop`` pixels and turned by ``yaw``/``pitch``.

        A turn moves each point of the face sideways in proportion to its depth: the centre of
        the face moves, the silhouette stays, so the side turned to is foreshortened.
        """
        rgb = self.head_rgb.copy()
        alpha = self.head_alpha.copy()
        if drop < 0.2 and abs(yaw) < 0.01 and abs(pitch) < 0.01:
            return rgb, alpha
        bx0, by0, bx1, by1 = self.deform_box
        map_x = self.grid_x - yaw * self.yaw_px * self.depth
        map_y = self.grid_y - pitch * self.pitch_px * self.depth - drop * self.jaw_weight
        rgb[by0:by1, bx0:bx1] = cv2.remap(self.head_rgb, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        alpha[by0:by1, bx0:bx1] = cv2.remap(self.head_alpha, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return rgb, alpha

    def _draw_mouth(self, rgb: np.ndarray, m: dict[str, float], drop: float, shift: tuple[float, float] = (0.0, 0.0)) -> None:
        ident = self.identity
        lip = np.array(ident.lip_colour, np.float32)
        s = self.size
        open_ = m["open"] * (1 - m["closure"])
        width = self.mouth_w * (1 + 0.28 * m["width"] - 0.28 * m["round"])
        round_ = m["round"]
        ut = ident.upper_lip * self.mouth_w * (1 + 0.35 * round_) * (1 - 0.25 * m["closure"])
        lt = ident.lower_lip * self.mouth_w * (1 + 0.35 * round_) * (1 - 0.25 * m["closure"])
        gap = open_ * self.mouth_w * 0.9
        lip_teeth = m["lip_teeth"]
        cx = self.cx + shift[0]
        my = self.mouth_y + shift[1]
        upper_inner_y = my - 0.25 * gap - lip_teeth * 0.14 * self.mouth_w  # F/V: the upper lip lifts off the teeth
        lower_inner_y = my + drop * 0.95 - lip_teeth * lt * 0.35  # the lower lip rides on the jaw
        if gap <= 0.25 and drop < 0.3:
            lower_inner_y = upper_inner_y
        n = 33
        xs = np.linspace(-1, 1, n)
        inner_w = width * (0.86 - 0.25 * round_)
        # opening shape: rounder with rounding, lens-like when spread
        k = 0.5 + 0.7 * (1 - round_)
        prof = (1 - np.clip(np.abs(xs), 0, 1) ** 2) ** (1 / k)
        # the opening is widest in the middle: the upper lip arches up, the lower lip sags
        open_extent = lower_inner_y - upper_inner_y
        upper_inner = np.stack([cx + inner_w * xs, upper_inner_y - open_extent * 0.25 * prof], 1)
        lower_inner = np.stack([cx + inner_w * xs, upper_inner_y + open_extent * (0.35 + 0.65 * prof)], 1)
        corner_l = np.array([cx - width, my + 0.1 * drop])
        corner_r = np.array([cx + width, my + 0.1 * drop])
        # outer contours
        bow = 1 - 0.22 * np.exp(-(xs / 0.18) ** 2) + 0.08 * np.exp(-((np.abs(xs) - 0.3) / 0.15) ** 2)
        upper_outer = np.stack([cx + width * xs, upper_inner[:, 1] - ut * bow * (1 - np.abs(xs) ** 2.2) ** 0.6], 1)
        lower_outer = np.stack([cx + width * xs, lower_inner[:, 1] + lt * (1 - np.abs(xs) ** 2.0) ** 0.7], 1)
        upper_lip_poly = np.concatenate([[corner_l], upper_outer, [corner_r], upper_inner[::-1]])
        lower_lip_poly = np.concatenate([[corner_l], lower_inner, [corner_r], lower_outer[::-1]])

        # shadow under the lower lip and the lip-line shadow
        x0, x1 = int(cx - width * 1.6), int(cx + width * 1.6)
        y0, y1 = int(upper_outer[:, 1].min() - ut), int(lower_outer[:, 1].max() + lt * 1.5)
        x0, y0 = max(x0, 0), max(y0, 0)
        roi = rgb[y0:y1, x0:x1]
        off = np.array([x0, y0])
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        shadow = np.exp(-(((xx - cx) / (width * 0.8)) ** 2 + ((yy - (lower_outer[:, 1].max() + lt * 0.3)) / (lt * 0.45)) ** 2))
        roi *= (1 - 0.25 * shadow[..., None])

        # mouth opening: cavity, teeth, tongue
        if open_extent > 0.6:
            cavity_poly = np.concatenate([upper_inner, lower_inner[::-1]]) - off
            cavity_mask = np.zeros(roi.shape[:2], np.float32)
            _fill(cavity_mask, cavity_poly, 1.0)
            inside = np.empty_like(roi)
            inside[:] = np.array([52, 18, 22], np.float32)
            teeth_col = np.array([212, 202, 184], np.float32) * (0.8 + 0.2 * ident.ambient)  # in shadow of the lips
            top_y = upper_inner[:, 1].min() - y0
            teeth_h = min(open_extent, self.mouth_w * (0.16 + 0.1 * m["teeth"])) * (0.35 + 0.65 * max(m["teeth"], lip_teeth))
            teeth_h = max(teeth_h, lip_teeth * open_extent)  # F/V: the lower lip rests on the upper teeth
            if teeth_h > 0.3:
                cv2.rectangle(inside, (int((cx - inner_w * 0.8 - x0) * _ONE), int((top_y - 2) * _ONE)),
                              (int((cx + inner_w * 0.8 - x0) * _ONE), int((top_y + teeth_h + ut * 0.25) * _ONE)),
                              tuple(float(c) for c in teeth_col), -1, cv2.LINE_AA, _SHIFT)
                for tx in np.linspace(-0.6, 0.6, 6):  # gaps between teeth
                    px = cx + inner_w * tx - x0
                    cv2.line(inside, (int(px * _ONE), int(top_y * _ONE)), (int(px * _ONE), int((top_y + teeth_h) * _ONE)),
                             tuple(float(c) * 0.8 for c in teeth_col), 1, cv2.LINE_AA, _SHIFT)
            if open_extent > self.mouth_w * 0.45:  # lower teeth in a wide-open mouth
                low_y = lower_inner[:, 1].max() - y0
                cv2.rectangle(inside, (int((cx - inner_w * 0.6 - x0) * _ONE), int((low_y - open_extent * 0.12) * _ONE)),
                              (int((cx + inner_w * 0.6 - x0) * _ONE), int((low_y + 2) * _ONE)),
                              tuple(float(c) * 0.85 for c in teeth_col), -1, cv2.LINE_AA, _SHIFT)
            tongue_col = np.array([190, 90, 95], np.float32)
            tongue_y = lower_inner[:, 1].max() - y0 - open_extent * 0.15
            if m["tongue_out"] > 0.2:
                tongue_y = upper_inner[:, 1].min() - y0 + teeth_h + open_extent * 0.25
                cv2.ellipse(inside, (int((cx - x0) * _ONE), int(tongue_y * _ONE)),
                            (int(inner_w * 0.45 * _ONE), int(max(1.0, open_extent * 0.35 * m["tongue_out"]) * _ONE)),
                            0, 0, 360, tuple(float(c) for c in tongue_col), -1, cv2.LINE_AA, _SHIFT)
            elif open_extent > self.mouth_w * 0.2:
                cv2.ellipse(inside, (int((cx - x0) * _ONE), int((tongue_y + open_extent * 0.1) * _ONE)),
                            (int(inner_w * 0.6 * _ONE), int(max(1.0, open_extent * (0.25 - 0.1 * m["tongue_up"])) * _ONE)),
                            0, 0, 360, tuple(float(c) * 0.9 for c in tongue_col), -1, cv2.LINE_AA, _SHIFT)
            # depth: darker towards the corners and the back
            depth = np.clip(1 - np.abs(xx - cx) / (inner_w + 1e-3), 0, 1) ** 0.5
            inside = inside * (0.55 + 0.45 * depth[..., None])
            roi[:] = roi * (1 - cavity_mask[..., None]) + inside * cavity_mask[..., None]

        # lips
        lip_upper = lip * 0.84
        lip_lower = lip * 1.0
        lip_layer = roi.copy()
        _fill(lip_layer, upper_lip_poly - off, lip_upper)
        _fill(lip_layer, lower_lip_poly - off, lip_lower)
        lip_mask = np.zeros(roi.shape[:2], np.float32)
        _fill(lip_mask, upper_lip_poly - off, 1.0)
        _fill(lip_mask, lower_lip_poly - off, 1.0)
        lip_mask = cv2.GaussianBlur(lip_mask, (0, 0), 0.6)
        # lip shading: highlight on the lower lip, darker near the opening
        hl_y = lower_inner[:, 1].max() * 0.5 + lower_outer[:, 1].max() * 0.5 - y0 - lt * 0.1
        highlight = np.exp(-(((xx - x0 - (cx - x0)) / (width * 0.4)) ** 2 + ((yy - y0 - hl_y) / (lt * 0.25 + 0.5)) ** 2))
        lip_layer = lip_layer + 40 * highlight[..., None] * lip_mask[..., None]
        roi[:] = roi * (1 - 0.92 * lip_mask[..., None]) + lip_layer * 0.92 * lip_mask[..., None]
        # the line between the lips (closed mouth) and the dark corners
        if open_extent <= 0.6:
            line = np.concatenate([[corner_l], upper_inner[1:-1], [corner_r]]) - off
            _line(roi, line, lip * 0.42, max(1.0, 0.008 * s * (1 + m["closure"])))
        for corner in (corner_l, corner_r):
            inward = 1.0 if corner[0] < cx else -1.0
            cv2.circle(roi, (int((corner[0] + inward * 1.0 - x0) * _ONE), int((corner[1] - y0) * _ONE)), int(max(0.8, 0.004 * s) * _ONE),
                       tuple(float(c) for c in lip * 0.5), -1, cv2.LINE_AA, _SHIFT)

    # ------------------------------------------------------------------ the frame
    def render(self, mouth: dict[str, float], head: dict[str, float], noise_sigma: float = 2.5,
               blur_sigma: float = 0.5, gain: float = 1.0, noise_rng: np.random.Generator | None = None) -> np.ndarray:
        """One frame (size, size, 3) uint8 RGB from a mouth articulation and a head pose (dicts)."""
        s = self.size
        drop = float(np.clip(mouth["open"] * (1 - mouth["closure"]), 0, 1)) * self.mouth_w * 0.75
        yaw, pitch = head["yaw"], head["pitch"]
        rgb, alpha = self._deform(drop, yaw, pitch)
        eye_depth = float(self._depth(self.cx + self.eye_dx, self.eye_y))
        mouth_depth = float(self._depth(self.cx, self.mouth_y))
        self._draw_eyes(rgb, head["blink"], head["gaze_x"], head["gaze_y"], head["brow"],
                        shift=(yaw * self.yaw_px * eye_depth, pitch * self.pitch_px * eye_depth))
        self._draw_mouth(rgb, mouth, drop, shift=(yaw * self.yaw_px * mouth_depth, pitch * self.pitch_px * mouth_depth))
        # head pose: rotation about the neck, translation, scale
        matrix = cv2.getRotationMatrix2D((float(self.pivot[0]), float(self.pivot[1])), head["roll_deg"], head["scale"])
        matrix[0, 2] += head["dx"] * s
        matrix[1, 2] += head["dy"] * s
        # warp and blend only inside the head's bounding box
        corners = np.hstack([self.head_box_corners, np.ones((4, 1))]) @ matrix.T
        x0, y0 = np.maximum(np.floor(corners.min(axis=0)).astype(int) - 2, 0)
        x1, y1 = np.minimum(np.ceil(corners.max(axis=0)).astype(int) + 2, s)
        frame = self.background.copy()
        if x1 > x0 and y1 > y0:
            local = matrix.copy()
            local[:, 2] -= (x0, y0)
            size = (int(x1 - x0), int(y1 - y0))
            head_rgb = cv2.warpAffine(rgb, local, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            head_a = cv2.warpAffine(alpha, local, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)[..., None]
            roi = frame[y0:y1, x0:x1]
            roi += (head_rgb - roi) * head_a
        if blur_sigma > 0.05:
            frame = cv2.GaussianBlur(frame, (0, 0), blur_sigma)
        frame *= gain
        if noise_sigma > 0:
            # OpenCV's generator is several times faster than numpy's here; seeded per frame
            rng = noise_rng if noise_rng is not None else self.rng
            cv2.setRNGSeed(int(rng.integers(2**31)))
            noise = np.empty_like(frame)
            cv2.randn(noise, 0.0, float(noise_sigma))
            frame += noise
        frame += 0.5
        np.clip(frame, 0, 255, out=frame)
        return frame.astype(np.uint8)
