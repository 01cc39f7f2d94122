"""The OCR engine: a picture of a page in, upright text boxes with recognition scores out.

RapidOCR (PP-OCRv4 models run by onnxruntime) ships its model files inside the wheel, so nothing is
downloaded at run time; the engine is loaded once per process because loading costs most of a second.
Its steps are called one by one (detect, classify, recognise) so the page's orientation can be decided
from the boxes: most boxes tall means the page lies on its side (turned a quarter and detected again),
most lines classified as upside down means the page is upside down (the boxes are turned with it).
A slight skew (a photo held at an angle) is taken out of the box coordinates, so text of one printed
line shares one baseline again.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from statistics import median
from typing import Any

import numpy as np

MAX_SIDE = 2000  # the detector gains nothing above this and the time grows with the area
_TALL = 1.5  # a box this much taller than wide is text running vertically
_UPSIDE_DOWN_SCORE = 0.9  # the classifier's own threshold for turning a line
THREADS = max(1, min(2, os.cpu_count() or 1))  # the target machine has two cores


@dataclass(frozen=True, slots=True)
class TextBox:
    """One recognised text line: its text, the recogniser's score (0..1) and its upright bounding box.

    ``pieces`` place the characters (Chinese) or words (Latin, digits) of the line: (text, x0, x1, top,
    bottom); the gaps between them tell a label from its value as the gaps between PDF characters do, and
    the characters of a vertical title keep their own rows.
    """

    text: str
    score: float
    x0: float
    top: float
    x1: float
    bottom: float
    pieces: tuple[tuple[str, float, float, float, float], ...] = ()

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def width(self) -> float:
        return self.x1 - self.x0


@dataclass(frozen=True, slots=True)
class OcrPage:
    """The text of one page picture in reading coordinates (pixels, y downwards), and how it was turned.

    ``rotation`` is the clockwise turn (0, 90, 180, 270) that made the page upright; ``skew`` the angle in
    degrees removed from the box coordinates; ``width``/``height`` the upright picture's size.
    """

    boxes: tuple[TextBox, ...]
    width: int
    height: int
    rotation: int = 0
    skew: float = 0.0

    def mean_score(self) -> float:
        """The average recognition score; low on blurred, dark or screen photos."""
        return sum(b.score for b in self.boxes) / len(self.boxes) if self.boxes else 0.0


_lock = threading.Lock()  # onnxruntime sessions are shared; one page at a time uses both cores anyway


@lru_cache(maxsize=1)
def _engine() -> Any:
    """The RapidOCR engine, loaded once per process from the model files inside its package."""
    from rapidocr_onnxruntime import RapidOCR

    models = model_directory()
    missing = [name for name in ("ch_PP-OCRv4_det_infer.onnx", "ch_PP-OCRv4_rec_infer.onnx",
                                 "ch_ppocr_mobile_v2.0_cls_infer.onnx") if not (models / name).is_file()]
    if missing:
        raise RuntimeError(f"OCR model files missing from {models}: {', '.join(missing)}")
    logging.getLogger("RapidOCR").setLevel(logging.ERROR)
    engine = RapidOCR(intra_op_num_threads=THREADS)
    for step in (engine.text_det, engine.text_cls, engine.text_rec):
        _without_spinning(getattr(step, "infer", None) or step.session)
    return engine


def _without_spinning(wrapper: Any) -> None:
    """Reopen one model's session with idle threads that sleep instead of spinning.

    onnxruntime's worker threads spin between operators by default; on a machine whose two cores are
    shared with other work, the spinning threads took the cycles the page needed (CPU time per page
    fell by a quarter with spinning off). Threads are fixed at ``THREADS``, never more than the cores.
    """
    import onnxruntime as ort

    old = wrapper.session
    options = ort.SessionOptions()
    options.log_severity_level = 4
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = THREADS
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    wrapper.session = ort.InferenceSession(old._model_path, sess_options=options,
                                           providers=["CPUExecutionProvider"])


def model_directory() -> Path:
    """Where the engine's model files are read from (inside the installed package)."""
    import rapidocr_onnxruntime

    return Path(rapidocr_onnxruntime.__file__).parent / "models"


def read_text(image: np.ndarray) -> OcrPage:
    """Recognise the text of one page picture (BGR or grey ``uint8`` array), turned upright.

    Never returns boxes in sideways or upside-down coordinates: the reader of the boxes matches labels
    and values by position, which only works on an upright page.
    """
    import cv2

    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    scale = MAX_SIDE / max(image.shape[:2])
    if scale < 1:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    image = np.ascontiguousarray(image)
    with _lock:
        engine = _engine()
        rotation = 0
        quads = _detect(engine, image)
        if quads and _mostly_tall(quads):
            image = cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)
            rotation = 90
            quads = _detect(engine, image)
        height, width = image.shape[:2]
        if not quads:
            return OcrPage((), width, height, rotation)
        crops = engine.get_crop_img_list(image, [q.copy() for q in quads])
        turned_lines, classes, _ = engine.text_cls(crops)  # works on copies; ``crops`` stay as cut
        flipped = sum(1 for label, score in classes if label == "180" and score >= _UPSIDE_DOWN_SCORE)
        if flipped * 2 > len(classes):  # the page is upside down: every line is, not only the sure ones
            rotation = (rotation + 180) % 360
            quads = [_turn_half(q, width, height) for q in quads]
            crops = [cv2.rotate(c, cv2.ROTATE_180) for c in crops]
        else:
            crops = turned_lines
        recognised, _ = engine.text_rec(crops, True)
        placed = engine.cal_rec_boxes(crops, quads, recognised)
    skew = _skew(quads)
    boxes = []
    for quad, result in zip(quads, placed, strict=True):
        text, score, word_quads, words = str(result[0]), float(result[1]), result[2], result[3]
        if not text.strip():
            continue
        points = _unskew(quad, skew, width, height)
        xs, ys = points[:, 0], points[:, 1]
        pieces = []
        if len(word_quads) == len(words):
            for word, word_quad in zip(words, word_quads, strict=True):
                wq = _unskew(np.asarray(word_quad, dtype=np.float32), skew, width, height)
                pieces.append((str(word), float(wq[:, 0].min()), float(wq[:, 0].max()),
                               float(wq[:, 1].min()), float(wq[:, 1].max())))
        boxes.append(TextBox(text.strip(), max(0.0, min(1.0, score)), float(xs.min()), float(ys.min()),
                             float(xs.max()), float(ys.max()), tuple(pieces)))
    return OcrPage(tuple(boxes), width, height, rotation, round(skew, 2))


def _detect(engine: Any, image: np.ndarray) -> list[np.ndarray]:
    quads, _ = engine.text_det(image)
    if quads is None or len(quads) == 0:
        return []
    return [np.asarray(q, dtype=np.float32) for q in engine.sorted_boxes(quads)]


def _mostly_tall(quads: list[np.ndarray]) -> bool:
    """True when most elongated boxes run vertically: the page lies on its side."""
    tall = wide = 0
    for q in quads:
        w = float(np.linalg.norm(q[1] - q[0]))
        h = float(np.linalg.norm(q[3] - q[0]))
        if h > _TALL * w:
            tall += 1
        elif w > _TALL * h:
            wide += 1
    return tall > wide


def _turn_half(quad: np.ndarray, width: int, height: int) -> np.ndarray:
    """A box of an upside-down page in the coordinates of the page turned right way up."""
    turned = np.stack([width - 1 - quad[:, 0], height - 1 - quad[:, 1]], axis=1)
    return np.roll(turned, 2, axis=0).astype(np.float32)


def _skew(quads: list[np.ndarray]) -> float:
    """The median slope (degrees) of the long boxes' top edges; text lines of a page are parallel."""
    angles = []
    for q in quads:
        dx, dy = float(q[1][0] - q[0][0]), float(q[1][1] - q[0][1])
        h = float(np.linalg.norm(q[3] - q[0]))
        if dx > 4 * max(h, 1.0):
            angles.append(math.degrees(math.atan2(dy, dx)))
    return median(angles) if len(angles) >= 3 else 0.0


def _unskew(quad: np.ndarray, skew: float, width: int, height: int) -> np.ndarray:
    if abs(skew) < 0.2:
        return quad
    angle = math.radians(-skew)
    cx, cy = width / 2, height / 2
    cos, sin = math.cos(angle), math.sin(angle)
    x, y = quad[:, 0] - cx, quad[:, 1] - cy
    return np.stack([x * cos - y * sin + cx, x * sin + y * cos + cy], axis=1)
