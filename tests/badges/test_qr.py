"""QR symbols: our fast mask search against qrcode's own, and the symbol size for a real badge URL."""
from __future__ import annotations

import pytest
import qrcode
from qrcode.constants import ERROR_CORRECT_M

from kiosk.badges.qr import _QRCode, qr_modules


@pytest.mark.parametrize("length", [1, 20, 47, 60, 120, 250, 700])
def test_fast_mask_choice_gives_exactly_qrcodes_symbol(length):
    """Our mask search must pick what qrcode picks: same symbol, bit for bit (versions 1 to 20 here)."""
    for salt in range(12):
        payload = ("https://give.example.org/b/" + "".join(
            "23456789ABCDEFGHJKMNPQRSTUVWXYZ"[(salt * 7 + i * i) % 31] for i in range(length)))[:max(length, 1)]
        ours, theirs = (cls(error_correction=ERROR_CORRECT_M, border=0) for cls in (_QRCode, qrcode.QRCode))
        for qr in (ours, theirs):
            qr.add_data(payload)
            qr.make(fit=True)
        assert ours.get_matrix() == theirs.get_matrix(), (length, salt)


def test_qr_version_stays_small_for_a_real_badge_url():
    # 20-character tokens behind a typical public URL: version 4 at level M (33 modules, ~0.76 mm at 25 mm)
    assert qr_modules("https://give.example.org/b/K7QX9M2HRTW4Z8NPV3CA") <= 33
