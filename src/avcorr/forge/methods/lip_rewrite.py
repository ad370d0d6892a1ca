"""lip-rewrite: concatenative lip-sync in the manner of Video Rewrite (Bregler et al., 1997).

For each frame of the new audio's viseme track, choose a frame of the *source itself* whose
mouth looks like that viseme (lip opening and spread, similar head pose), preferring runs of
consecutive source frames (a Viterbi path: the fewer jumps, the smoother). The chosen frame's
lower face is aligned to the current frame by a similarity fit on rigid landmarks (eyes, nose,
cheeks), colour-matched in LAB and blended in with a mask drawn per forgery.

Mirrors Wav2Lip / VideoReTalking outputs: lips synchronised with foreign speech, content
plausible, everything outside the mouth region the source's. Traces: a blend boundary around
the mouth (shape, feather, colour strength and Poisson vs alpha vary by seed), small alignment
jitter, occasional mouth-texture discontinuities where the path jumps, blur or sharpening of the
pasted region.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from avcorr.forge.methods import landmarks as lm
from avcorr.forge.methods.base import ForgedClip, ForgeRequest, ForgeryLabels, VisemeDriven, viseme_driven_inputs
from avcorr.forge.methods.blend import mask_box, paste, region_mask, sample_blend_style
from avcorr.forge.methods.speech import mouth_trajectory
from avcorr.forge.methods.warp import apply_affine, fit_similarity
from avcorr.media import landmarks as facemesh

CANDIDATES = 24  # source frames considered per output frame in the path search


@dataclass
class LipRewrite(VisemeDriven):
    name: str = "lip-rewrite"

    def forge(self, request: ForgeRequest) -> ForgedClip:
        source, rng = request.source, request.rng
        marks, found = viseme_driven_inputs(request, self.name)
        donor = request.audio_donor
        start, end = request.frame_range
        style = sample_blend_style(rng)
        want_open, want_spread, trajectory = mouth_trajectory(donor.visemes, rng)
        region_scale = float(rng.uniform(1.2, 2.2))  # mask size around the lips, × lip extent (up to Wav2Lip-like lower face)
        chin_reach = float(rng.uniform(0.2, 0.9))  # how far towards the chin the mask reaches
        jump_cost = float(rng.uniform(0.3, 0.9))

        opening = lm.mouth_opening(marks)
        spread = lm.mouth_spread(marks)
        low, high = np.percentile(opening[found], [5, 97]) if found.any() else (0.0, 0.3)
        target_open = low + (high - low) * np.clip(want_open / 0.45, 0.0, 1.2)
        target_spread = float(np.median(spread[found] if found.any() else spread)) * want_spread
        chosen = _select_frames(opening, spread, lm.head_pose_proxy(marks), found, target_open, target_spread,
                                start, end, jump_cost)

        frames = source.frames.copy()
        h, w = frames.shape[1:3]
        for t, s in zip(range(start, end), chosen):
            matrix = fit_similarity(marks[s, facemesh.RIGID], marks[t, facemesh.RIGID])
            lips = apply_affine(matrix, marks[s, facemesh.LIPS_OUTER])
            chin = apply_affine(matrix, marks[s, [facemesh.CHIN]])
            centre = lips.mean(axis=0)
            region = centre + (lips - centre) * region_scale
            region = np.vstack([region, centre + (chin - centre) * chin_reach])
            box = mask_box(region, style, (h, w))
            x0, y0, x1, y1 = box
            if x1 - x0 < 8 or y1 - y0 < 8:
                continue
            shifted = matrix.copy()
            shifted[:, 2] -= (x0, y0)
            patch = cv2.warpAffine(source.frames[s], shifted, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REFLECT101)
            mask = region_mask((y1 - y0, x1 - x0), region - (x0, y0), style)
            frames[t] = paste(frames[t], patch, mask, style, box)
        jumps = int(np.sum(np.diff(chosen) != 1)) if len(chosen) > 1 else 0
        params = {"blend": style.as_dict(), "region_scale": region_scale, "chin_reach": chin_reach,
                  "jump_cost": jump_cost, "path_jumps": jumps, **trajectory}
        return ForgedClip(frames=frames, audio=donor.audio, params=params)


def _select_frames(opening: np.ndarray, spread: np.ndarray, pose: np.ndarray, found: np.ndarray,
                   target_open: np.ndarray, target_spread: np.ndarray, start: int, end: int,
                   jump_cost: float) -> np.ndarray:
    """Viterbi path over source frames for output frames [start, end): match mouth shape and pose, stay contiguous."""
    sigma_open = max(float(np.std(opening)), 1e-3)
    sigma_spread = max(float(np.std(spread)), 1e-3)
    sigma_pose = max(float(np.std(pose)), 1e-3)
    usable = np.flatnonzero(found) if found.any() else np.arange(len(opening))
    steps = end - start
    cand = np.zeros((steps, min(CANDIDATES, len(usable))), dtype=np.int64)
    unary = np.zeros(cand.shape)
    for i, t in enumerate(range(start, end)):
        cost = (np.abs(opening[usable] - target_open[t]) / sigma_open
                + 0.5 * np.abs(spread[usable] - target_spread[t]) / sigma_spread
                + 0.5 * np.linalg.norm(pose[usable] - pose[t], axis=1) / sigma_pose)
        best = np.argsort(cost, kind="stable")[:cand.shape[1]]
        cand[i], unary[i] = usable[best], cost[best]
    total = unary[0].copy()
    back = np.zeros(cand.shape, dtype=np.int64)
    for i in range(1, steps):
        step = cand[i][None, :] - cand[i - 1][:, None]  # (prev, cur)
        trans = np.where(step == 1, 0.0, np.where(step == 0, 0.3 * jump_cost, jump_cost))
        scores = total[:, None] + trans
        back[i] = np.argmin(scores, axis=0)
        total = scores[back[i], np.arange(cand.shape[1])] + unary[i]
    path = np.zeros(steps, dtype=np.int64)
    k = int(np.argmin(total))
    for i in range(steps - 1, -1, -1):
        path[i] = cand[i, k]
        k = back[i, k]
    return path


def register(add: Callable[[str, Callable[[], object]], None]) -> None:
    add("lip-rewrite", LipRewrite)
    add("lip-rewrite-self", lambda: LipRewrite(name="lip-rewrite-self", audio_donor="self",
                                               labels=ForgeryLabels(audio_label=0, video_label=1, sync_label=0)))
