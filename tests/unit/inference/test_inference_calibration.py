"""The offline image sets (inference/calibration.py): the accuracy set `make
bench` measures on and the calibration set the int8 export is made from are
the same pixels in the same order every time, and calibration never sees a
held-out photo."""

from __future__ import annotations

import hashlib

from inference import calibration


def digest(photos: list[calibration.Photo]) -> str:
    made = hashlib.sha256()
    for photo in photos:
        made.update(photo.name.encode())
        made.update(str(photo.image_bgr.shape).encode())
        made.update(photo.image_bgr.tobytes())
    return made.hexdigest()


def test_the_sets_are_made_the_same_way_every_time() -> None:
    assert digest(calibration.accuracy_set()) == digest(calibration.accuracy_set())
    assert digest(calibration.calibration_photos()) == digest(calibration.calibration_photos())


def test_the_accuracy_set_is_every_photo_framed_and_crowded() -> None:
    photos = calibration.accuracy_set()
    names = [p.name for p in photos]
    packaged = [p.name for p in calibration.packaged_photos()]

    assert len(names) == len(set(names))
    assert {name.split(":")[0] for name in names} >= set(packaged)
    assert any(":grid4x4:" in name for name in names)
    assert len(photos) >= 100


def test_calibration_never_sees_a_held_out_photo() -> None:
    held_out = {p.name for p in calibration.packaged_photos()} & calibration.HELD_OUT
    calibrated = calibration.calibration_photos()
    held_out_pixels = {p.image_bgr.tobytes() for p in calibration.accuracy_set() if not calibration.calibrated(p.name)}

    assert held_out, "no held-out photo installed"
    assert not {p.name.split(":")[0] for p in calibrated} & held_out
    assert all(p.image_bgr.tobytes() not in held_out_pixels for p in calibrated)
