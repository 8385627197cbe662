import re

import pytest

from drivers.idcard import status

DOCUMENTED = [0x90, 0x9F, 0x91, 0x10, 0x11, 0x21, 0x23, 0x24, 0x31, 0x32, 0x33, 0x34, 0x40, 0x41, 0x47, 0x50,
              0x60, 0x61, 0x66, 0x80, 0x81]


@pytest.mark.parametrize("sw3", DOCUMENTED)
def test_every_documented_status_has_a_clerk_message(sw3):
    zh, en = status.describe(sw3)
    assert re.search(r"[\u4e00-\u9fff]", zh) and en
    assert "未知状态" not in zh


def test_an_unlisted_status_is_named_not_hidden():
    zh, en = status.describe(0x77)
    assert "77" in zh and "77" in en



def test_the_table_holds_exactly_the_documented_codes():
    assert set(status.MESSAGES) == set(DOCUMENTED)
