"""Named landmark indices of MediaPipe's 468-point Face Mesh.

"Right" and "left" are the subject's: the right eye appears on the image's left.
Contours run from the outer end to the inner end (eyes, brows) or from the right mouth
corner to the left one (lips).
"""

RIGHT_EYE_OUTER, RIGHT_EYE_INNER = 33, 133
LEFT_EYE_OUTER, LEFT_EYE_INNER = 263, 362
RIGHT_EYE_UPPER = (246, 161, 160, 159, 158, 157, 173)
RIGHT_EYE_LOWER = (7, 163, 144, 145, 153, 154, 155)
LEFT_EYE_UPPER = (466, 388, 387, 386, 385, 384, 398)
LEFT_EYE_LOWER = (249, 390, 373, 374, 380, 381, 382)
#: Lid midpoints used for the eye aperture (upper, lower) per eye.
RIGHT_LIDS = ((160, 144), (159, 145), (158, 153))
LEFT_LIDS = ((387, 373), (386, 374), (385, 380))

RIGHT_BROW = (70, 63, 105, 66, 107, 46, 53, 52, 65, 55)
LEFT_BROW = (300, 293, 334, 296, 336, 276, 283, 282, 295, 285)
RIGHT_BROW_INNER = (107, 55, 66, 65)
LEFT_BROW_INNER = (336, 285, 296, 295)

NOSE_TIP = 1
SUBNASALE = 2
RIGHT_ALA, LEFT_ALA = 64, 294
NOSE_BRIDGE = 168

MOUTH_RIGHT, MOUTH_LEFT = 61, 291
UPPER_LIP_TOP, LOWER_LIP_BOTTOM = 0, 17
UPPER_LIP_INNER, LOWER_LIP_INNER = 13, 14
LIPS_UPPER_OUTER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
LIPS_LOWER_OUTER = (146, 91, 181, 84, 17, 314, 405, 321, 375)
LIPS_UPPER_INNER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LIPS_LOWER_INNER = (95, 88, 178, 87, 14, 317, 402, 318, 324)
INNER_LIP_PAIRS = ((82, 87), (13, 14), (312, 317))

CHIN = 152
FOREHEAD = 10
FACE_OVAL = (
    10,
    338,
    297,
    332,
    284,
    251,
    389,
    356,
    454,
    323,
    361,
    288,
    397,
    365,
    379,
    378,
    400,
    377,
    152,
    148,
    176,
    149,
    150,
    136,
    172,
    58,
    132,
    93,
    234,
    127,
    162,
    21,
    54,
    103,
    67,
    109,
)
