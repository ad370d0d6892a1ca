"""MediaPipe face-mesh landmark indices (478-point topology): the one table every layer reads.

Indices are those of MediaPipe's ``FACEMESH_*`` connection sets. "Left" and "right" are the
image's (the subject's right eye is on the image's left). Lip contours run from the left mouth
corner over the upper lip to the right corner and back under the lower lip.
"""
from __future__ import annotations

NUM_LANDMARKS = 478

# ----------------------------------------------------------------------------------- mouth
LIPS_OUTER = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146]
LIPS_INNER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95]
UPPER_LIP = [185, 40, 39, 37, 0, 267, 269, 270, 409, 191, 80, 81, 82, 13, 312, 311, 310, 415]
LOWER_LIP = [375, 321, 405, 314, 17, 84, 181, 91, 146, 324, 318, 402, 317, 14, 87, 178, 88, 95]
MOUTH_LEFT, MOUTH_RIGHT = 61, 291  # the outer mouth corners
MOUTH_CORNERS = (MOUTH_LEFT, MOUTH_RIGHT)
INNER_CORNERS = (78, 308)
LIP_UPPER_INNER, LIP_LOWER_INNER = 13, 14  # the middle of the inner lip line, top and bottom
#: (upper, lower) landmark pairs across the mouth opening, left to right.
INNER_PAIRS = [(82, 87), (13, 14), (312, 317)]
OUTER_PAIRS = [(37, 84), (0, 17), (267, 314)]

# ----------------------------------------------------------------------------------- eyes
EYE_OUTER = (33, 263)  # the outer eye corners: the inter-ocular line
EYE_CORNERS = (33, 133, 362, 263)
RIGHT_EYE_UPPER = [246, 161, 160, 159, 158, 157, 173]
RIGHT_EYE_LOWER = [7, 163, 144, 145, 153, 154, 155]
LEFT_EYE_UPPER = [466, 388, 387, 386, 385, 384, 398]
LEFT_EYE_LOWER = [249, 390, 373, 374, 380, 381, 382]
EYEBROWS = [46, 52, 53, 55, 63, 65, 66, 70, 105, 107, 276, 282, 283, 285, 293, 295, 296, 300, 334, 336]

# ----------------------------------------------------------------------------------- face
FOREHEAD, CHIN = 10, 152  # top of the face oval, bottom of the chin
NOSE_TIP, SUBNASALE = 1, 2
CHEEKS = (234, 454)  # the face oval's widest points
FACE_OVAL = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
             152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109]
NOSE = [1, 2, 4, 5, 6, 19, 45, 48, 64, 94, 97, 98, 115, 168, 195, 197, 220, 275, 278, 294, 326, 327, 344, 440]
#: Points that move with the head but not with the jaw or lips: used to align one frame onto another.
RIGID = [33, 133, 362, 263, 6, 168, 197, 195, 5, 4, 1, 98, 327, 234, 454, 127, 356]
#: Mesh subset for piecewise-affine warps: dense enough around mouth and eyes, small enough to be fast.
WARP_POINTS = sorted(set(LIPS_OUTER + LIPS_INNER + FACE_OVAL + RIGHT_EYE_UPPER + RIGHT_EYE_LOWER
                         + LEFT_EYE_UPPER + LEFT_EYE_LOWER + list(EYE_CORNERS) + EYEBROWS + NOSE
                         + [18, 200, 199, 175, 57, 287, 43, 273, 106, 335, 182, 406, 83, 313, 201, 421,
                            194, 418, 32, 262, 140, 369, 171, 396, 208, 428, 210, 430, 212, 432,
                            50, 280, 36, 266, 205, 425, 187, 411, 123, 352, 116, 345]))
