"""Image geometry for forgeries: similarity fits and piecewise-affine (triangle mesh) warps.

Warps are backward maps evaluated only inside a region of interest around the face, so a frame
costs a few milliseconds: the triangles of a mesh are rasterised into a label image and each
pixel is sent through its own triangle's affine map, then ``cv2.remap`` samples the image once.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial import Delaunay


def fit_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares rotation + uniform scale + translation (Umeyama) mapping src → dst, as 2×3."""
    src = np.asarray(src, dtype=np.float64)[:, :2]
    dst = np.asarray(dst, dtype=np.float64)[:, :2]
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    sign = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[-1] = -1.0
    rot = u @ np.diag(sign) @ vt
    var = (s ** 2).sum() / len(src)
    scale = float((sig * sign).sum() / max(var, 1e-12))
    matrix = np.zeros((2, 3))
    matrix[:, :2] = scale * rot
    matrix[:, 2] = mu_d - scale * rot @ mu_s
    return matrix


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64)[..., :2]
    return pts @ matrix[:, :2].T + matrix[:, 2]


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    return cv2.invertAffineTransform(np.asarray(matrix, dtype=np.float64))


def expand_box(points: np.ndarray, margin: float, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """Bounding box of ``points`` grown by ``margin`` × its size, clipped to the image (x0, y0, x1, y1)."""
    h, w = shape
    x0, y0 = np.min(points[:, :2], axis=0)
    x1, y1 = np.max(points[:, :2], axis=0)
    mx, my = margin * (x1 - x0), margin * (y1 - y0)
    return (int(max(0, np.floor(x0 - mx))), int(max(0, np.floor(y0 - my))),
            int(min(w, np.ceil(x1 + mx))), int(min(h, np.ceil(y1 + my))))


@dataclass
class TriangleMesh:
    """A triangulation of reference points plus fixed anchors on the border of ``roi``."""

    triangles: np.ndarray  # (K, 3) indices into points + anchors
    anchors: np.ndarray  # (A, 2) fixed points on the ROI border, pixels
    roi: tuple[int, int, int, int]

    @classmethod
    def build(cls, reference: np.ndarray, roi: tuple[int, int, int, int]) -> "TriangleMesh":
        x0, y0, x1, y1 = roi
        xs = np.linspace(x0, x1 - 1, 5)
        ys = np.linspace(y0, y1 - 1, 5)
        border = [(x, y0) for x in xs] + [(x, y1 - 1) for x in xs] + [(x0, y) for y in ys[1:-1]] + [(x1 - 1, y) for y in ys[1:-1]]
        anchors = np.asarray(border, dtype=np.float64)
        pts = np.concatenate([_clip_inside(reference[:, :2], roi), anchors])
        jitter = np.random.default_rng(0).normal(scale=1e-3, size=pts.shape)  # breaks exact collinearity
        triangles = Delaunay(pts + jitter).simplices.astype(np.int32)
        return cls(triangles=triangles, anchors=anchors, roi=roi)

    def backward_maps(self, reference: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Maps (h, w) float32 over the ROI: for each target pixel, where to sample the reference."""
        x0, y0, x1, y1 = self.roi
        ref = np.concatenate([_clip_inside(reference[:, :2], self.roi), self.anchors])
        dst = np.concatenate([_clip_inside(target[:, :2], self.roi), self.anchors])
        tri_dst = dst[self.triangles]  # (K, 3, 2)
        tri_ref = ref[self.triangles]
        # Each triangle's affine map target → reference, in closed form through barycentric coordinates.
        p0, p1, p2 = tri_dst[:, 0], tri_dst[:, 1], tri_dst[:, 2]
        e1, e2 = p1 - p0, p2 - p0
        det = e1[:, 0] * e2[:, 1] - e2[:, 0] * e1[:, 1]
        ok = np.abs(det) > 1e-6
        inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
        l1_dx, l1_dy = e2[:, 1] * inv, -e2[:, 0] * inv  # gradients of the barycentric weights of p1, p2
        l2_dx, l2_dy = -e1[:, 1] * inv, e1[:, 0] * inv
        r0, d1, d2 = tri_ref[:, 0], tri_ref[:, 1] - tri_ref[:, 0], tri_ref[:, 2] - tri_ref[:, 0]
        coef_x = d1 * l1_dx[:, None] + d2 * l2_dx[:, None]  # d(ref)/dx, (K, 2)
        coef_y = d1 * l1_dy[:, None] + d2 * l2_dy[:, None]
        const = r0 - coef_x * p0[:, 0:1] - coef_y * p0[:, 1:2]
        affine = np.stack([coef_x, coef_y, const], axis=1)  # (K, 3, 2): rows x, y, 1
        h, w = y1 - y0, x1 - x0
        label = np.zeros((h, w), dtype=np.int32)
        offset = np.array([x0, y0])
        for k in np.flatnonzero(ok):
            poly = np.round((tri_dst[k] - offset) * 4).astype(np.int32)
            cv2.fillConvexPoly(label, poly, int(k) + 1, lineType=cv2.LINE_8, shift=2)
        # Row 0 of the table is the identity, for pixels no triangle covers.
        table = np.concatenate([np.array([[1, 0, 0, 0, 1, 0]], np.float32),
                                affine.transpose(0, 2, 1).reshape(-1, 6).astype(np.float32)])
        coeff = table[label]  # (h, w, 6): x' = c0 x + c1 y + c2, y' = c3 x + c4 y + c5
        gx = np.arange(x0, x1, dtype=np.float32)[None, :]
        gy = np.arange(y0, y1, dtype=np.float32)[:, None]
        map_x = coeff[..., 0] * gx + coeff[..., 1] * gy + coeff[..., 2]
        map_y = coeff[..., 3] * gx + coeff[..., 4] * gy + coeff[..., 5]
        return map_x.astype(np.float32), map_y.astype(np.float32)


def warp_region(image: np.ndarray, mesh: TriangleMesh, reference: np.ndarray, target: np.ndarray,
                out: np.ndarray | None = None) -> np.ndarray:
    """Warp ``image`` (whose landmarks are ``reference``) so its landmarks land on ``target``, inside the ROI."""
    map_x, map_y = mesh.backward_maps(reference, target)
    x0, y0, x1, y1 = mesh.roi
    result = image.copy() if out is None else out
    result[y0:y1, x0:x1] = cv2.remap(image, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
    return result


def _clip_inside(points: np.ndarray, roi: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = roi
    pts = np.asarray(points, dtype=np.float64).copy()
    pts[:, 0] = np.clip(pts[:, 0], x0 + 1, x1 - 2)
    pts[:, 1] = np.clip(pts[:, 1], y0 + 1, y1 - 2)
    return pts
