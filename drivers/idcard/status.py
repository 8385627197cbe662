"""SW3 status codes of the SAM protocol and what they mean to a clerk."""

from __future__ import annotations

OK = 0x90
CARD_FOUND = 0x9F
ITEM_EMPTY = 0x91
FIND_FAILED = 0x80
SELECT_FAILED = 0x81

# code -> (message for the clerk, English for the technician)
MESSAGES: dict[int, tuple[str, str]] = {
    0x90: ("操作成功", "success"),
    0x9F: ("已找到证件", "card found"),
    0x91: ("证件上没有此项信息", "the item is empty on this card"),
    0x10: ("读卡器收到的命令校验出错，请检查连接线", "the reader received a request with a bad checksum (check the cable)"),
    0x11: ("读卡器收到的命令长度出错，请检查连接线", "the reader received a request with a bad length (check the cable)"),
    0x21: ("读卡器不支持此命令，请确认读卡器型号", "the reader does not know this command (check the reader model)"),
    0x23: ("读卡器不允许此操作", "the reader does not permit this operation"),
    0x24: ("读卡器发生未知错误，请重新放置证件", "unknown reader error; place the card again"),
    0x31: ("证件认证读卡器失败，请重新放置证件", "the card rejected the reader; place the card again"),
    0x32: ("读卡器认证证件失败，证件可能有问题", "the reader rejected the card; the card may be faulty"),
    0x33: ("信息校验失败，请重新放置证件", "data check failed; place the card again"),
    0x34: ("未选中证件，请重新放置证件", "no card selected; place the card again"),
    0x40: ("无法识别的证件类型", "unknown card type"),
    0x41: ("读取证件失败，请将证件放稳后重试", "reading the card failed; hold the card still and try again"),
    0x47: ("读卡器取随机数失败，请重新放置证件", "random number failed; place the card again"),
    0x50: ("读卡器写入失败", "write failed"),
    0x60: ("读卡器安全模块自检失败，请联系技术员", "SAM self-test failed; call the technician"),
    0x61: ("读卡器安全模块登录失败，请联系技术员", "SAM login failed; call the technician"),
    0x66: ("读卡器安全模块未授权，请联系技术员", "SAM not authorised; call the technician"),
    0x80: ("未找到证件，请将证件放在读卡器上", "no card found; place the card on the reader"),
    0x81: ("选卡失败，请将证件放稳后重试", "selecting the card failed; hold the card still and try again"),
}

# Failures a card being placed, moved or lifted produces (and a request spoiled by line noise);
# another find -> select -> read cycle usually succeeds. The others mean a wrong reader or a broken
# SAM: retrying only hides it.
LINE_NOISE = frozenset({0x10, 0x11})
TRANSIENT = frozenset({0x24, 0x31, 0x33, 0x34, 0x41, 0x47, 0x80, 0x81}) | LINE_NOISE
# The SAM itself is unusable: the reader is as good as absent until a technician sees to it.
SAM_BROKEN = frozenset({0x60, 0x61, 0x66})


def describe(sw3: int) -> tuple[str, str]:
    """(Chinese, English) for any SW3, including codes the protocol does not list."""
    if sw3 in MESSAGES:
        return MESSAGES[sw3]
    return (f"读卡器返回未知状态（{sw3:02X}），请联系技术员", f"the reader returned unknown status {sw3:02X}")
