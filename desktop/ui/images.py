"""numpy <-> Qt image conversion, in one place."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage, QPixmap


def qimage_from_array(image: np.ndarray) -> QImage:
    """An HxWx3 or HxWx4 uint8 array as a QImage that owns its pixels."""
    arr = np.ascontiguousarray(image)
    if arr.dtype != np.uint8:
        arr = (np.clip(arr, 0, 1) * 255 + 0.5).astype(np.uint8)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    h, w, c = arr.shape
    fmt = QImage.Format_RGBA8888 if c == 4 else QImage.Format_RGB888
    return QImage(arr.data, w, h, c * w, fmt).copy()


def thumbnail(image: np.ndarray, size: int = 160) -> QPixmap:
    qimg = qimage_from_array(image)
    return QPixmap.fromImage(qimg.scaled(size, size, aspectMode=_keep(), mode=_smooth()))


def _keep():
    from PySide6.QtCore import Qt

    return Qt.KeepAspectRatio


def _smooth():
    from PySide6.QtCore import Qt

    return Qt.SmoothTransformation
