"""face-swap: another identity's face, landmark-warped onto the source, colour-corrected and blended.

Mirrors FaceSwap / FakeAVCeleb FakeVideo-RealAudio: the source's own audio, head pose, expression
and mouth motion, with the inner face of someone else. Half of the forgeries texture every frame
with one typical donor frame and keep the source's own mouth interior (classic FaceSwap); the
others choose, for each source frame, the donor frame with the closest lip opening and head pose
(with hysteresis, to avoid flicker). The donor frame is aligned by a
similarity fit, then warped triangle by triangle onto the source's landmarks, so the donor's
features move with the source's expression. Colour is matched in LAB and the face pasted with
a mask (polygon or ellipse, with or without the forehead) drawn per forgery.

Traces: a blend boundary around the inner face, identity mismatch between face and head/hair,
skin-tone and lighting inconsistencies where colour matching is weak, texture stretch where the
donor's expression differs, sudden texture changes where the donor frame switches.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from avcorr.forge.methods import landmarks as lm
from avcorr.forge.methods.base import DonorKind, ForgedClip, ForgeRequest, ForgeryLabels
from avcorr.forge.methods.blend import mask_box, paste, region_mask, sample_blend_style
from avcorr.forge.methods.warp import TriangleMesh, apply_affine, expand_box, fit_similarity, invert_affine
from avcorr.media import landmarks as facemesh

_LOWER_OVAL = [l for l in facemesh.FACE_OVAL if l not in (10, 338, 297, 332, 284, 109, 67, 103, 54, 21, 251, 162)]


@dataclass
class FaceSwap:
    name: str = "face-swap"
    audio_donor: DonorKind = "none"
    needs_face: bool = True
    needs_face_donor: bool = True
    needs_visemes: bool = False
    labels: ForgeryLabels = ForgeryLabels(audio_label=0, video_label=1, sync_label=0)

    def forge(self, request: ForgeRequest) -> ForgedClip:
        source, rng, donor = request.source, request.rng, request.face_donor
        if donor is None or source.landmarks is None or len(donor.frames) == 0:
            raise ValueError("face-swap needs landmarks and a face donor")
        start, end = request.frame_range
        marks = source.landmarks[..., :2].astype(np.float64)
        donor_marks = donor.landmarks[..., :2].astype(np.float64)
        style = sample_blend_style(rng, poisson_probability=0.35)
        shrink = float(rng.uniform(0.86, 0.98))  # mask polygon pulled towards the face centre
        with_forehead = bool(rng.random() < 0.4)
        hysteresis = float(rng.uniform(0.05, 0.15))
        # "single": one donor frame textures every frame and the source keeps its own mouth interior
        # (classic FaceSwap); "matched": the donor frame follows the source's lips and pose.
        texture = "single" if rng.random() < 0.5 else "matched"
        donor_open = lm.mouth_opening(donor_marks)
        source_open = lm.mouth_opening(marks)
        donor_pose = lm.head_pose_proxy(donor_marks)
        source_pose = lm.head_pose_proxy(marks)
        # Donor opening rescaled to the source's range, so an open source mouth finds an open donor.
        scale_open = (np.percentile(source_open, 95) + 1e-3) / (np.percentile(donor_open, 95) + 1e-3)

        frames = source.frames.copy()
        h, w = frames.shape[1:3]
        current = -1
        if texture == "single":  # the donor's most typical frame: median pose, fairly closed mouth
            typical = np.linalg.norm(donor_pose - np.median(donor_pose, axis=0), axis=1) + donor_open
            current = int(np.argmin(typical))
        switches = 0
        outline = facemesh.FACE_OVAL if with_forehead else _LOWER_OVAL + facemesh.EYEBROWS
        for t in range(start, end):
            # A 2-D warp across head poses bends the face: match the pose as well as the lips.
            if texture == "matched":
                distance = np.abs(donor_open * scale_open - source_open[t]) + 0.5 * np.linalg.norm(donor_pose - source_pose[t], axis=1)
                best = int(np.argmin(distance))
                if current < 0 or distance[current] - distance[best] > hysteresis:
                    switches += current >= 0 and best != current
                    current = best
            target = marks[t]
            align = fit_similarity(donor_marks[current, facemesh.RIGID + facemesh.FACE_OVAL], target[facemesh.RIGID + facemesh.FACE_OVAL])
            aligned = apply_affine(align, donor_marks[current])
            polygon = target[outline]
            centre = polygon.mean(axis=0)
            polygon = centre + (polygon - centre) * shrink
            box = mask_box(polygon, style, (h, w))
            x0, y0, x1, y1 = box
            if x1 - x0 < 12 or y1 - y0 < 12:
                continue
            # The mesh's fixed border must lie outside both landmark sets, or clipping them tears the warp.
            both = np.vstack([target[facemesh.WARP_POINTS], aligned[facemesh.WARP_POINTS], polygon])
            mesh_box = expand_box(np.vstack([both, np.array(box[:2]), np.array(box[2:]) - 1]), 0.08, (h, w))
            mesh = TriangleMesh.build(target[facemesh.WARP_POINTS], mesh_box)
            map_x, map_y = mesh.backward_maps(aligned[facemesh.WARP_POINTS], target[facemesh.WARP_POINTS])
            mx0, my0 = mesh_box[0], mesh_box[1]
            map_x, map_y = map_x[y0 - my0:y1 - my0, x0 - mx0:x1 - mx0], map_y[y0 - my0:y1 - my0, x0 - mx0:x1 - mx0]
            back = invert_affine(align)  # aligned (source) coordinates → donor image coordinates
            dx = back[0, 0] * map_x + back[0, 1] * map_y + back[0, 2]
            dy = back[1, 0] * map_x + back[1, 1] * map_y + back[1, 2]
            patch = cv2.remap(donor.frames[current], dx.astype(np.float32), dy.astype(np.float32),
                              interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
            mask = region_mask((y1 - y0, x1 - x0), polygon - (x0, y0), style)
            if texture == "single":
                mask *= 1.0 - _mouth_hole((y1 - y0, x1 - x0), target[facemesh.LIPS_INNER] - (x0, y0))
            frames[t] = paste(frames[t], patch, mask, style, box)
        params = {"blend": style.as_dict(), "texture": texture, "mask_shrink": shrink, "with_forehead": with_forehead,
                  "donor_switches": int(switches), "face_donor": donor.clip_id}
        return ForgedClip(frames=frames, audio=source.audio, params=params)


def _mouth_hole(shape: tuple[int, int], inner_lips: np.ndarray) -> np.ndarray:
    """Soft (H, W) mask of the source's mouth opening, kept when one closed-mouth donor frame textures the face."""
    hole = np.zeros(shape, np.float32)
    cv2.fillPoly(hole, [np.round(inner_lips * 4).astype(np.int32)], 1.0, lineType=cv2.LINE_AA, shift=2)
    width = max(float(np.ptp(inner_lips[:, 0])), 4.0)
    return cv2.GaussianBlur(hole, (0, 0), max(0.8, 0.04 * width))


def register(add: Callable[[str, Callable[[], object]], None]) -> None:
    add("face-swap", FaceSwap)
