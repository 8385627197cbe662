<?xml version='1.0' encoding='utf-8'?>
<!DOCTYPE TS>
<TS version="2.1" language="en" sourcelanguage="zh_CN">
<context>
    <name>HelpDialog</name>
    <message>
        <source>快捷键</source>
        <translation>Shortcuts</translation>
    </message>
    <message>
        <source>快捷键一览</source>
        <translation>Keyboard shortcuts</translation>
    </message>
    <message>
        <source>按键</source>
        <translation>Key</translation>
    </message>
    <message>
        <source>功能</source>
        <translation>Action</translation>
    </message>
    <message>
        <source>Esc 关闭　Home / End / PgUp / PgDn 翻看</source>
        <translation>Esc closes  Home / End / PgUp / PgDn page through</translation>
    </message>
</context>
<context>
    <name>LoginView</name>
    <message>
        <source>客站售票 — 登录</source>
        <translation>Kezhan ticket window — sign in</translation>
    </message>
    <message>
        <source>工号</source>
        <translation>User code</translation>
    </message>
    <message>
        <source>密码</source>
        <translation>Password</translation>
    </message>
    <message>
        <source>登录 Enter</source>
        <translation>Sign in  Enter</translation>
    </message>
    <message>
        <source>客站检票 — 登录</source>
        <translation>Kezhan gate — sign in</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>本班次没有未出票的车票</source>
        <translation>No ticket of this shift is waiting for its paper</translation>
    </message>
    <message>
        <source>打印失败：%1（车票未出，Ctrl+Shift+P 重新打印）</source>
        <translation>Printing failed: %1 (Ctrl+Shift+P prints it again)</translation>
    </message>
    <message>
        <source>客站 Kezhan — 售票窗口</source>
        <translation>Kezhan — ticket window</translation>
    </message>
    <message>
        <source>请先选择班次，再选座</source>
        <translation>Choose a departure first, then the seats</translation>
    </message>
    <message>
        <source>打印失败：%1</source>
        <translation>Printing failed: %1</translation>
    </message>
    <message>
        <source>链路：未配置服务器</source>
        <translation>Link: no server configured</translation>
    </message>
    <message>
        <source>链路告警：%1</source>
        <translation>Link alarm: %1</translation>
    </message>
    <message>
        <source>链路：正在向省平台确认座位…</source>
        <translation>Link: asking the province for the seat…</translation>
    </message>
    <message>
        <source>链路：在线</source>
        <translation>Link: online</translation>
    </message>
    <message>
        <source>链路：离线（自 %1）</source>
        <translation>Link: offline (since %1)</translation>
    </message>
    <message>
        <source>待上传：%1</source>
        <translation>To upload: %1</translation>
    </message>
    <message>
        <source>待处理冲突：%1（F11 处理）</source>
        <translation>Conflicts to settle: %1 (F11)</translation>
    </message>
    <message>
        <source>上次同步：%1</source>
        <translation>Last sync: %1</translation>
    </message>
    <message>
        <source>从未</source>
        <translation>never</translation>
    </message>
    <message>
        <source>打印机：就绪</source>
        <translation>Printer: ready</translation>
    </message>
    <message>
        <source>打印机：缺纸</source>
        <translation>Printer: out of paper</translation>
    </message>
    <message>
        <source>打印机：未就绪</source>
        <translation>Printer: not ready</translation>
    </message>
    <message>
        <source>打印机：离线</source>
        <translation>Printer: offline</translation>
    </message>
    <message>
        <source>打印机：状态不可用</source>
        <translation>Printer: status not available</translation>
    </message>
    <message>
        <source>打印机：未配置（仅预览）</source>
        <translation>Printer: none (preview only)</translation>
    </message>
    <message>
        <source>打印机：检测中</source>
        <translation>Printer: checking</translation>
    </message>
    <message>
        <source>读卡器：就绪</source>
        <translation>Reader: ready</translation>
    </message>
    <message>
        <source>读卡器：未连接</source>
        <translation>Reader: not connected</translation>
    </message>
    <message>
        <source>读卡器：未配置</source>
        <translation>Reader: none</translation>
    </message>
    <message>
        <source>读卡器：检测中</source>
        <translation>Reader: checking</translation>
    </message>
    <message>
        <source>未登录</source>
        <translation>Not signed in</translation>
    </message>
    <message>
        <source>售票员 %1 %2　班次 %3</source>
        <translation>Clerk %1 %2  Shift %3</translation>
    </message>
    <message>
        <source>未开班</source>
        <translation>not open</translation>
    </message>
    <message>
        <source>客站 Kezhan — 检票口</source>
        <translation>Kezhan — gate</translation>
    </message>
    <message>
        <source>客站 Kezhan — 售票 / 检票</source>
        <translation>Kezhan — tickets / gate</translation>
    </message>
    <message>
        <source>检票员 %1 %2</source>
        <translation>Gate checker %1 %2</translation>
    </message>
    <message>
        <source>值班站长 %1 %2</source>
        <translation>Supervisor %1 %2</translation>
    </message>
</context>
<context>
    <name>PreviewDialog</name>
    <message>
        <source>打印预览</source>
        <translation>Print preview</translation>
    </message>
    <message>
        <source>上一张票的打印预览（Esc 关闭）</source>
        <translation>Preview of the last ticket (Esc closes)</translation>
    </message>
    <message>
        <source>还没有打印过车票</source>
        <translation>No ticket printed yet</translation>
    </message>
</context>
<context>
    <name>SaleView</name>
    <message>
        <source>日期</source>
        <translation>Date</translation>
    </message>
    <message>
        <source>PgUp/PgDn 换日</source>
        <translation>PgUp/PgDn: day</translation>
    </message>
    <message>
        <source>目的地</source>
        <translation>To</translation>
    </message>
    <message>
        <source>拼音首字母 / 站码 / 汉字</source>
        <translation>Initials / code / name</translation>
    </message>
    <message>
        <source>时间</source>
        <translation>Time</translation>
    </message>
    <message>
        <source>班次</source>
        <translation>Service</translation>
    </message>
    <message>
        <source>线路 / 途经</source>
        <translation>Route / via</translation>
    </message>
    <message>
        <source>车型</source>
        <translation>Bus</translation>
    </message>
    <message>
        <source>检票口</source>
        <translation>Gate</translation>
    </message>
    <message>
        <source>余票</source>
        <translation>Left</translation>
    </message>
    <message>
        <source>本机可售</source>
        <translation>Offline</translation>
    </message>
    <message>
        <source>状态</source>
        <translation>Status</translation>
    </message>
    <message>
        <source>乘客（读卡自动填入下一位）</source>
        <translation>Passengers (a card tap fills the next one)</translation>
    </message>
    <message>
        <source>证件号码（刷身份证自动填入）</source>
        <translation>Document number (or tap the ID card)</translation>
    </message>
    <message>
        <source>姓名</source>
        <translation>Name</translation>
    </message>
    <message>
        <source>票种</source>
        <translation>Type</translation>
    </message>
    <message>
        <source>证件</source>
        <translation>Document</translation>
    </message>
    <message>
        <source>号码</source>
        <translation>Number</translation>
    </message>
    <message>
        <source>携童</source>
        <translation>Carried child</translation>
    </message>
    <message>
        <source>收款</source>
        <translation>Payment</translation>
    </message>
    <message>
        <source>应收</source>
        <translation>Due</translation>
    </message>
    <message>
        <source>现金</source>
        <translation>Cash</translation>
    </message>
    <message>
        <source>电子支付</source>
        <translation>E-payment</translation>
    </message>
    <message>
        <source>实收（空 = 正好）</source>
        <translation>Tendered (empty = exact)</translation>
    </message>
    <message>
        <source>支付流水号</source>
        <translation>Payment reference</translation>
    </message>
    <message>
        <source>找零</source>
        <translation>Change</translation>
    </message>
    <message>
        <source>确认售票 Enter</source>
        <translation>Confirm sale  Enter</translation>
    </message>
    <message>
        <source>周一</source>
        <translation>Mon</translation>
    </message>
    <message>
        <source>周二</source>
        <translation>Tue</translation>
    </message>
    <message>
        <source>周三</source>
        <translation>Wed</translation>
    </message>
    <message>
        <source>周四</source>
        <translation>Thu</translation>
    </message>
    <message>
        <source>周五</source>
        <translation>Fri</translation>
    </message>
    <message>
        <source>周六</source>
        <translation>Sat</translation>
    </message>
    <message>
        <source>周日</source>
        <translation>Sun</translation>
    </message>
    <message>
        <source>（今天）</source>
        <translation>(today)</translation>
    </message>
    <message>
        <source>没有找到这个目的地</source>
        <translation>No such destination</translation>
    </message>
    <message>
        <source>当天没有到该站的班次</source>
        <translation>No departures to this stop on this day</translation>
    </message>
    <message>
        <source>正常</source>
        <translation>Open</translation>
    </message>
    <message>
        <source>已读卡：%1（选定班次后自动填入）</source>
        <translation>Card read: %1 (filled in once a departure is chosen)</translation>
    </message>
    <message>
        <source>停售</source>
        <translation>Sales closed</translation>
    </message>
    <message>
        <source>票价 %1</source>
        <translation>Fares %1</translation>
    </message>
    <message>
        <source>检票中</source>
        <translation>Boarding</translation>
    </message>
    <message>
        <source>晚点</source>
        <translation>Delayed</translation>
    </message>
    <message>
        <source>停班</source>
        <translation>Cancelled</translation>
    </message>
    <message>
        <source>已发车</source>
        <translation>Departed</translation>
    </message>
    <message>
        <source>售完</source>
        <translation>Sold out</translation>
    </message>
    <message>
        <source>该班次不能售票：%1</source>
        <translation>This departure cannot be sold: %1</translation>
    </message>
    <message>
        <source>（待刷卡或录入）</source>
        <translation>(tap the card or type it)</translation>
    </message>
    <message>
        <source>所有乘客都已有证件</source>
        <translation>Every passenger has a document</translation>
    </message>
    <message>
        <source>证件号码有效</source>
        <translation>Document number is valid</translation>
    </message>
    <message>
        <source>请输入乘客姓名</source>
        <translation>Enter the passenger's name</translation>
    </message>
    <message>
        <source>座位：%1（F9 重选）</source>
        <translation>Seats: %1 (F9 to change)</translation>
    </message>
    <message>
        <source>座位：自动分配（F9 选座）</source>
        <translation>Seats: assigned automatically (F9 to choose)</translation>
    </message>
    <message>
        <source>不足 %1</source>
        <translation>short by %1</translation>
    </message>
    <message>
        <source>请先选择班次</source>
        <translation>Choose a departure first</translation>
    </message>
    <message>
        <source>实收不足，还差 %1</source>
        <translation>Not enough cash: %1 short</translation>
    </message>
    <message>
        <source>请输入电子支付流水号</source>
        <translation>Enter the e-payment reference</translation>
    </message>
    <message>
        <source>第 %1 位乘客还没有证件</source>
        <translation>Passenger %1 has no document yet</translation>
    </message>
    <message>
        <source>已售 %1 张 %2，找零 %3</source>
        <translation>Sold %1 ticket(s) %2, change %3</translation>
    </message>
    <message>
        <source>无租座</source>
        <translation>No lease</translation>
    </message>
    <message>
        <source>班次表不接受文字：↑↓ 选班次，Enter 选定，Ctrl+D 改目的地</source>
        <translation>No typing on the departures: ↑↓ picks a bus, Enter takes it, Ctrl+D for another destination</translation>
    </message>
    <message>
        <source>该证件已是第 %1 位乘客（一证一座）</source>
        <translation>This document is already passenger %1 (one seat per document)</translation>
    </message>
</context>
<context>
    <name>SeatMapDialog</name>
    <message>
        <source>座位图</source>
        <translation>Seat map</translation>
    </message>
    <message>
        <source>选座：需要 %1 个座位</source>
        <translation>Choose seats: %1 needed</translation>
    </message>
    <message>
        <source>绿 = 本机可售　灰 = 已售　橙 = 他处占用　蓝 = 已选　黄 = 光标；方向键移动，空格选/取消，Enter 确定，Esc 返回</source>
        <translation>Green = ours to sell  Grey = sold  Orange = held elsewhere  Blue = chosen  Yellow = cursor; arrows move, Space picks, Enter takes, Esc backs out</translation>
    </message>
    <message>
        <source>座位 %1 不能售</source>
        <translation>Seat %1 cannot be sold</translation>
    </message>
    <message>
        <source>已选够 %1 个座位</source>
        <translation>%1 seat(s) already chosen</translation>
    </message>
    <message>
        <source>请选 %1 个座位（已选 %2）</source>
        <translation>Choose %1 seat(s) (%2 chosen)</translation>
    </message>
</context>
<context>
    <name>ShiftCloseDialog</name>
    <message>
        <source>交班结算</source>
        <translation>Shift settlement</translation>
    </message>
    <message>
        <source>售票员 %1　班次 %2　开班 %3　纸票 %4 — %5（用 %6 张，废 %7 张）</source>
        <translation>Clerk %1  Shift %2  Opened %3  Stock %4 — %5 (%6 used, %7 spoiled)</translation>
    </message>
    <message>
        <source>项目</source>
        <translation>Item</translation>
    </message>
    <message>
        <source>张数</source>
        <translation>Count</translation>
    </message>
    <message>
        <source>金额</source>
        <translation>Amount</translation>
    </message>
    <message>
        <source>说明</source>
        <translation>Note</translation>
    </message>
    <message>
        <source>应交款</source>
        <translation>Amount due</translation>
    </message>
    <message>
        <source>实点现金</source>
        <translation>Cash counted</translation>
    </message>
    <message>
        <source>清点后的现金金额</source>
        <translation>The cash in the drawer, counted</translation>
    </message>
    <message>
        <source>差额</source>
        <translation>Difference</translation>
    </message>
    <message>
        <source>确认交班并打印 Enter</source>
        <translation>Close shift and print  Enter</translation>
    </message>
    <message>
        <source>关闭 Esc</source>
        <translation>Close  Esc</translation>
    </message>
    <message>
        <source>%1（相符）</source>
        <translation>%1 (balanced)</translation>
    </message>
    <message>
        <source>长款 %1</source>
        <translation>Over by %1</translation>
    </message>
    <message>
        <source>短款 %1</source>
        <translation>Short by %1</translation>
    </message>
    <message>
        <source>请输入实点现金</source>
        <translation>Enter the cash counted</translation>
    </message>
    <message>
        <source>现金与应交款不符（%1）：核对无误后再按 Enter 交班</source>
        <translation>The cash does not match the amount due (%1): check it, then press Enter again to close the shift</translation>
    </message>
</context>
<context>
    <name>ShiftOpenView</name>
    <message>
        <source>开班</source>
        <translation>Open shift</translation>
    </message>
    <message>
        <source>起始票号</source>
        <translation>First stock number</translation>
    </message>
    <message>
        <source>票卷上第一张票的号码</source>
        <translation>Number of the first blank on the roll</translation>
    </message>
    <message>
        <source>请核对打印机中票卷的第一张票号；之后每打印一张票自动加一。Esc 注销。</source>
        <translation>Check the first number on the roll in the printer; every printed ticket takes the next one. Esc signs out.</translation>
    </message>
    <message>
        <source>开班 Enter</source>
        <translation>Open shift  Enter</translation>
    </message>
    <message>
        <source>请输入起始票号</source>
        <translation>Enter the first stock number</translation>
    </message>
</context>
<context>
    <name>StockConfirmDialog</name>
    <message>
        <source>核对票卷</source>
        <translation>Check the roll</translation>
    </message>
    <message>
        <source>票卷上下一张空白票号</source>
        <translation>Next blank on the roll</translation>
    </message>
    <message>
        <source>确认 Enter</source>
        <translation>Confirm  Enter</translation>
    </message>
    <message>
        <source>取消 Esc</source>
        <translation>Cancel  Esc</translation>
    </message>
</context>
<context>
    <name>TasksDialog</name>
    <message>
        <source>待处理冲突</source>
        <translation>Conflict tasks</translation>
    </message>
    <message>
        <source>待处理冲突（省平台已裁决）</source>
        <translation>Conflict tasks (resolved by the provincial server)</translation>
    </message>
    <message>
        <source>本窗口售出的票与其他渠道冲突，省平台已裁决。换座：同一班次另选座位，重新出票；退票：全额退款，不收手续费（不是乘客的原因）。↑↓ 选择，Enter 办理，F9 选座，F3 全额退票，Esc 关闭</source>
        <translation>Tickets this counter sold clashed with another channel, and the provincial server has ruled. Reseat: another seat on the same departure, on a new ticket. Refund: the whole price back, no fee (it is not the passenger's doing). ↑↓ choose, Enter act, F9 pick a seat, F3 full refund, Esc close</translation>
    </message>
    <message>
        <source>票号</source>
        <translation>Ticket</translation>
    </message>
    <message>
        <source>乘客</source>
        <translation>Passenger</translation>
    </message>
    <message>
        <source>发车</source>
        <translation>Departs</translation>
    </message>
    <message>
        <source>班次</source>
        <translation>Service</translation>
    </message>
    <message>
        <source>到站</source>
        <translation>To</translation>
    </message>
    <message>
        <source>座位</source>
        <translation>Seat</translation>
    </message>
    <message>
        <source>情况</source>
        <translation>What happened</translation>
    </message>
    <message>
        <source>处理</source>
        <translation>To do</translation>
    </message>
    <message>
        <source>选座换座 F9</source>
        <translation>New seat  F9</translation>
    </message>
    <message>
        <source>全额退票 F3</source>
        <translation>Full refund  F3</translation>
    </message>
    <message>
        <source>标记已处理</source>
        <translation>Mark settled</translation>
    </message>
    <message>
        <source>确认 Enter</source>
        <translation>Confirm  Enter</translation>
    </message>
    <message>
        <source>关闭 Esc</source>
        <translation>Close  Esc</translation>
    </message>
    <message>
        <source>座位已被其他渠道售出</source>
        <translation>The seat was sold by another channel</translation>
    </message>
    <message>
        <source>座位已租给另一台终端</source>
        <translation>The seat is leased to another terminal</translation>
    </message>
    <message>
        <source>该车没有这个座位</source>
        <translation>The bus has no such seat</translation>
    </message>
    <message>
        <source>省平台没有这个班次</source>
        <translation>The server does not know this departure</translation>
    </message>
    <message>
        <source>班次已停班</source>
        <translation>The departure is cancelled</translation>
    </message>
    <message>
        <source>省平台上该票已退、已改签或已作废</source>
        <translation>The server has this ticket refunded, changed or voided</translation>
    </message>
    <message>
        <source>省平台没有这张票</source>
        <translation>The server does not know this ticket</translation>
    </message>
    <message>
        <source>该票已在别处取票</source>
        <translation>Already picked up elsewhere</translation>
    </message>
    <message>
        <source>该证件在本班次已有车票（一证一座）</source>
        <translation>This document already holds a ticket on that departure (one seat per document)</translation>
    </message>
    <message>
        <source>票已处理，标记完成</source>
        <translation>Ticket already dealt with: mark settled</translation>
    </message>
    <message>
        <source>换座（或全额退票）</source>
        <translation>Reseat (or full refund)</translation>
    </message>
    <message>
        <source>全额退票</source>
        <translation>Full refund</translation>
    </message>
    <message>
        <source>核对后标记完成</source>
        <translation>Check, then mark settled</translation>
    </message>
    <message>
        <source>没有待处理的冲突</source>
        <translation>No conflicts to settle</translation>
    </message>
    <message>
        <source>%1：%2（%3）。乘客 %4 %5，票价 %6。请：%7</source>
        <translation>%1: %2 (%3). Passenger %4 %5, price %6. To do: %7</translation>
    </message>
    <message>
        <source>该乘客带有免票携童，换座带不走携童：请全额退票后重新售票</source>
        <translation>This passenger carries a free child, whom a reseat cannot take along: refund in full, then sell again</translation>
    </message>
    <message>
        <source>该任务不需要换座</source>
        <translation>This task needs no new seat</translation>
    </message>
    <message>
        <source>该任务不能在这里退票</source>
        <translation>This task is not settled by a refund</translation>
    </message>
    <message>
        <source>请先换座或退票</source>
        <translation>Reseat or refund first</translation>
    </message>
    <message>
        <source>全额退款 %1（冲突退票，手续费 %2）</source>
        <translation>Full refund %1 (conflict refund, fee %2)</translation>
    </message>
    <message>
        <source>全额退款 %1（停班退票，手续费 %2）</source>
        <translation>Full refund %1 (departure cancelled, fee %2)</translation>
    </message>
    <message>
        <source>标记为已处理：不退票、不换座</source>
        <translation>Mark settled: no refund, no reseat</translation>
    </message>
    <message>
        <source>换座：%1</source>
        <translation>Reseat: %1</translation>
    </message>
    <message>
        <source>换到 %1 号座，不收费，重新出票（旧票收回）</source>
        <translation>To seat %1, free of charge, on a new ticket (take the old one back)</translation>
    </message>
    <message>
        <source>已换座：%1 号座，新纸票 %2</source>
        <translation>Reseated: seat %1, new stock number %2</translation>
    </message>
    <message>
        <source>已全额退票，退款 %1</source>
        <translation>Refunded in full: %1</translation>
    </message>
    <message>
        <source>已标记为处理完毕</source>
        <translation>Marked as settled</translation>
    </message>
</context>
<context>
    <name>TicketDialog</name>
    <message>
        <source>退票</source>
        <translation>Refund</translation>
    </message>
    <message>
        <source>改签</source>
        <translation>Change</translation>
    </message>
    <message>
        <source>废票</source>
        <translation>Void</translation>
    </message>
    <message>
        <source>重打</source>
        <translation>Reprint</translation>
    </message>
    <message>
        <source>取票</source>
        <translation>Pick up</translation>
    </message>
    <message>
        <source>扫描票码 / 输入票号或纸票号 / 刷身份证，Enter 查找</source>
        <translation>Scan the ticket code / type the ticket or stock number / tap the ID card; Enter finds</translation>
    </message>
    <message>
        <source>查找</source>
        <translation>Find</translation>
    </message>
    <message>
        <source>票号</source>
        <translation>Ticket</translation>
    </message>
    <message>
        <source>纸票号</source>
        <translation>Stock no.</translation>
    </message>
    <message>
        <source>发车</source>
        <translation>Departs</translation>
    </message>
    <message>
        <source>班次</source>
        <translation>Service</translation>
    </message>
    <message>
        <source>到站</source>
        <translation>To</translation>
    </message>
    <message>
        <source>座位</source>
        <translation>Seat</translation>
    </message>
    <message>
        <source>票种</source>
        <translation>Type</translation>
    </message>
    <message>
        <source>票价</source>
        <translation>Price</translation>
    </message>
    <message>
        <source>状态</source>
        <translation>Status</translation>
    </message>
    <message>
        <source>改签到（PgUp/PgDn 换日，Enter 选定）</source>
        <translation>Change to (PgUp/PgDn: day, Enter: choose)</translation>
    </message>
    <message>
        <source>日期</source>
        <translation>Date</translation>
    </message>
    <message>
        <source>时间</source>
        <translation>Time</translation>
    </message>
    <message>
        <source>车型</source>
        <translation>Bus</translation>
    </message>
    <message>
        <source>余票</source>
        <translation>Left</translation>
    </message>
    <message>
        <source>强退（免手续费，需值班站长授权）</source>
        <translation>Forced refund (no fee, needs a supervisor)</translation>
    </message>
    <message>
        <source>值班站长</source>
        <translation>Supervisor</translation>
    </message>
    <message>
        <source>工号</source>
        <translation>User code</translation>
    </message>
    <message>
        <source>密码</source>
        <translation>Password</translation>
    </message>
    <message>
        <source>确认%1 Enter</source>
        <translation>Confirm %1  Enter</translation>
    </message>
    <message>
        <source>关闭 Esc</source>
        <translation>Close  Esc</translation>
    </message>
    <message>
        <source>没有找到车票</source>
        <translation>No ticket found</translation>
    </message>
    <message>
        <source>有效</source>
        <translation>Valid</translation>
    </message>
    <message>
        <source>已退</source>
        <translation>Refunded</translation>
    </message>
    <message>
        <source>已改签</source>
        <translation>Changed</translation>
    </message>
    <message>
        <source>已废</source>
        <translation>Voided</translation>
    </message>
    <message>
        <source>待取票</source>
        <translation>To pick up</translation>
    </message>
    <message>
        <source>正常</source>
        <translation>Open</translation>
    </message>
    <message>
        <source>停售</source>
        <translation>Sales closed</translation>
    </message>
    <message>
        <source>检票中</source>
        <translation>Boarding</translation>
    </message>
    <message>
        <source>晚点</source>
        <translation>Delayed</translation>
    </message>
    <message>
        <source>停班</source>
        <translation>Cancelled</translation>
    </message>
    <message>
        <source>已发车</source>
        <translation>Departed</translation>
    </message>
    <message>
        <source>售完</source>
        <translation>Sold out</translation>
    </message>
    <message>
        <source>手续费 %1　退款 %2</source>
        <translation>Fee %1  Refund %2</translation>
    </message>
    <message>
        <source>补差价 %1</source>
        <translation>Passenger pays %1</translation>
    </message>
    <message>
        <source>退差价 %1</source>
        <translation>Passenger gets back %1</translation>
    </message>
    <message>
        <source>无差价</source>
        <translation>Same fare</translation>
    </message>
    <message>
        <source>　手续费 %1　合计收 %2</source>
        <translation>  Fee %1  Total due %2</translation>
    </message>
    <message>
        <source>　手续费 %1　合计退 %2</source>
        <translation>  Fee %1  Total handed back %2</translation>
    </message>
    <message>
        <source>作废并退还 %1，纸票 %2 记为废票</source>
        <translation>Void and hand back %1; blank %2 is recorded spoiled</translation>
    </message>
    <message>
        <source>旧纸票 %1 作废，使用新纸票 %2</source>
        <translation>Old blank %1 is spoiled; prints on blank %2</translation>
    </message>
    <message>
        <source>取票：打印到纸票 %1</source>
        <translation>Pick up: prints on blank %1</translation>
    </message>
    <message>
        <source>强退需要值班站长输入工号和密码</source>
        <translation>A forced refund needs the supervisor to enter a code and password</translation>
    </message>
    <message>
        <source>已退票，退款 %1</source>
        <translation>Refunded: %1 handed back</translation>
    </message>
    <message>
        <source>已改签到 %1 %2 座位 %3</source>
        <translation>Changed to %1 %2, seat %3</translation>
    </message>
    <message>
        <source>已废票，退还 %1</source>
        <translation>Voided: %1 handed back</translation>
    </message>
    <message>
        <source>已重打，新纸票 %1</source>
        <translation>Reprinted on blank %1</translation>
    </message>
    <message>
        <source>已取票，纸票 %1</source>
        <translation>Picked up on blank %1</translation>
    </message>
    <message>
        <source>无租座</source>
        <translation>No lease</translation>
    </message>
</context>
<context>
    <name>actions</name>
    <message>
        <source>帮助：快捷键一览</source>
        <translation>Help: the keyboard shortcuts</translation>
    </message>
    <message>
        <source>售票（回到售票界面）</source>
        <translation>Sell (back to the sale view)</translation>
    </message>
    <message>
        <source>退票</source>
        <translation>Refund</translation>
    </message>
    <message>
        <source>改签</source>
        <translation>Change</translation>
    </message>
    <message>
        <source>废票</source>
        <translation>Void</translation>
    </message>
    <message>
        <source>重打</source>
        <translation>Reprint</translation>
    </message>
    <message>
        <source>取票</source>
        <translation>Pick up</translation>
    </message>
    <message>
        <source>交班结算</source>
        <translation>Shift settlement</translation>
    </message>
    <message>
        <source>座位图（选座）</source>
        <translation>Seat map (choose seats)</translation>
    </message>
    <message>
        <source>打印预览（上一张票）</source>
        <translation>Print preview (the last ticket)</translation>
    </message>
    <message>
        <source>待处理冲突（换座 / 全额退票）</source>
        <translation>Conflict tasks (reseat / full refund)</translation>
    </message>
    <message>
        <source>切换语言（中文 / English）</source>
        <translation>Switch language (中文 / English)</translation>
    </message>
    <message>
        <source>前一天</source>
        <translation>Previous day</translation>
    </message>
    <message>
        <source>后一天</source>
        <translation>Next day</translation>
    </message>
    <message>
        <source>回到今天</source>
        <translation>Back to today</translation>
    </message>
    <message>
        <source>光标到目的地</source>
        <translation>Cursor to the destination</translation>
    </message>
    <message>
        <source>光标到班次列表</source>
        <translation>Cursor to the departures</translation>
    </message>
    <message>
        <source>光标到票种人数（Tab 依次移动）</source>
        <translation>Cursor to the passenger counts (Tab moves along)</translation>
    </message>
    <message>
        <source>光标到乘客证件</source>
        <translation>Cursor to the document</translation>
    </message>
    <message>
        <source>光标到收款</source>
        <translation>Cursor to the payment</translation>
    </message>
    <message>
        <source>收款方式：现金 / 电子支付</source>
        <translation>Payment: cash / e-payment</translation>
    </message>
    <message>
        <source>清空本单，重新开始</source>
        <translation>Clear this sale and start again</translation>
    </message>
    <message>
        <source>确认 / 下一步</source>
        <translation>Confirm / next step</translation>
    </message>
    <message>
        <source>返回 / 取消</source>
        <translation>Back / cancel</translation>
    </message>
    <message>
        <source>下一个输入项</source>
        <translation>Next field</translation>
    </message>
    <message>
        <source>锁屏 / 注销</source>
        <translation>Lock / sign out</translation>
    </message>
    <message>
        <source>未出票的车票（按原票号打印）</source>
        <translation>Tickets with no paper (printed on their own numbers)</translation>
    </message>
    <message>
        <source>演示：断开 / 恢复省平台</source>
        <translation>Demo: cut / restore the provincial server</translation>
    </message>
    <message>
        <source>演示：下一位乘客刷身份证</source>
        <translation>Demo: the next passenger taps an ID card</translation>
    </message>
    <message>
        <source>开检（录入车牌、驾驶员）</source>
        <translation>Open check (plate, driver)</translation>
    </message>
    <message>
        <source>停检：生成并打印路单</source>
        <translation>Stop: print the road bill</translation>
    </message>
    <message>
        <source>补检（值班站长批准）</source>
        <translation>Late check (supervisor)</translation>
    </message>
    <message>
        <source>注销检票（值班站长批准）</source>
        <translation>Undo check (supervisor)</translation>
    </message>
    <message>
        <source>改乘其他班次（值班站长批准）</source>
        <translation>Ride change (supervisor)</translation>
    </message>
    <message>
        <source>并班到其他班次（值班站长批准）</source>
        <translation>Merge (supervisor)</translation>
    </message>
    <message>
        <source>补打路单</source>
        <translation>Reprint bill</translation>
    </message>
    <message>
        <source>作废路单（值班站长批准）</source>
        <translation>Void bill (supervisor)</translation>
    </message>
    <message>
        <source>路单预览</source>
        <translation>Bill preview</translation>
    </message>
    <message>
        <source>光标到扫码 / 票号输入</source>
        <translation>Cursor to the scan / number field</translation>
    </message>
    <message>
        <source>光标到检票班次列表</source>
        <translation>Cursor to the gate's departures</translation>
    </message>
    <message>
        <source>演示：扫下一位乘客的车票</source>
        <translation>Demo: scan the next passenger's ticket</translation>
    </message>
    <message>
        <source>值班站长：前一天</source>
        <translation>Supervisor: previous day</translation>
    </message>
    <message>
        <source>值班站长：后一天</source>
        <translation>Supervisor: next day</translation>
    </message>
    <message>
        <source>停班：本班次停售，车票转为免费退票任务</source>
        <translation>Cancel the departure: no more sales, its tickets become fee-free refund tasks</translation>
    </message>
    <message>
        <source>刷新当日数据（省平台 / 本机）</source>
        <translation>Refresh the day's figures (server / this terminal)</translation>
    </message>
    <message>
        <source>加班：按所选班次加开一班</source>
        <translation>Extra bus like the selected departure</translation>
    </message>
    <message>
        <source>导出当日报表（CSV）</source>
        <translation>Export the day's report (CSV)</translation>
    </message>
    <message>
        <source>晚点：改为新的发车时间</source>
        <translation>Delay to a new departure time</translation>
    </message>
    <message>
        <source>设置向导：本步的主要操作（确认、注册、打印测试票、探测）</source>
        <translation>Set-up wizard: the step's main action (confirm, enrol, test print, probe)</translation>
    </message>
    <message>
        <source>设置向导：打开第 1–8 步</source>
        <translation>Set-up wizard: open step 1–8</translation>
    </message>
    <message>
        <source>设置向导：下一步</source>
        <translation>Set-up wizard: next step</translation>
    </message>
    <message>
        <source>设置向导：上一步</source>
        <translation>Set-up wizard: previous step</translation>
    </message>
    <message>
        <source>设置向导：测试省平台连接</source>
        <translation>Set-up wizard: test the server link</translation>
    </message>
    <message>
        <source>设置向导：打印套打校准页</source>
        <translation>Set-up wizard: print the stock calibration page</translation>
    </message>
    <message>
        <source>设置向导：保留无状态应答的打印机（测试票已打出）</source>
        <translation>Set-up wizard: keep a printer that never answers status (its test ticket came out)</translation>
    </message>
    <message>
        <source>设置向导：读测试身份证</source>
        <translation>Set-up wizard: read a test ID card</translation>
    </message>
    <message>
        <source>设置向导：监听串口扫码枪</source>
        <translation>Set-up wizard: listen on a serial scanner</translation>
    </message>
    <message>
        <source>设置向导：跳过读卡器或扫码枪（本机没有时）</source>
        <translation>Set-up wizard: skip the reader or the scanner (when this PC has none)</translation>
    </message>
    <message>
        <source>技术员菜单：选择第 1–7 项</source>
        <translation>Technician menu: choose task 1–7</translation>
    </message>
    <message>
        <source>技术员菜单：退出登录</source>
        <translation>Technician menu: sign out</translation>
    </message>
</context>
<context>
    <name>widgets</name>
    <message>
        <source>内部错误：%1（详见日志）</source>
        <translation>Internal error: %1 (details in the log)</translation>
    </message>
</context>
<context>
    <name>demo</name>
    <message>
        <source>演示：省平台已恢复，待上传事件开始上传</source>
        <translation>Demo: the provincial server is back; the queued events are uploading</translation>
    </message>
    <message>
        <source>演示：省平台已断开，本机凭租用座位继续售票</source>
        <translation>Demo: the provincial server is cut off; this counter sells on from its leased seats</translation>
    </message>
    <message>
        <source>演示：%1 的身份证已放上读卡器</source>
        <translation>Demo: %1's ID card is on the reader</translation>
    </message>
    <message>
        <source>演示：本班次没有待检的车票</source>
        <translation>Demo: no ticket left to check on this departure</translation>
    </message>
</context>
<context>
    <name>UnprintedDialog</name>
    <message>
        <source>未出票的车票</source>
        <translation>Tickets with no paper</translation>
    </message>
    <message>
        <source>已售出但未打印的车票</source>
        <translation>Tickets sold but never printed</translation>
    </message>
    <message>
        <source>这些车票已售出并记账，但打印机没有收到或没有打出（打印前断电、程序退出或打印失败）。Enter 按原票号全部打印；乘客手中已有纸票的，选中后按 Del；Esc 稍后处理（下次登录仍会列出）</source>
        <translation>These tickets were sold and booked, but the printer never took them (the power or the program went down before the print, or the print failed). Enter prints them all on their own stock numbers; if the passenger already holds the paper, select it and press Del; Esc deals with them later (they are listed again at the next sign-in)</translation>
    </message>
    <message>
        <source>票号</source>
        <translation>Stock no.</translation>
    </message>
    <message>
        <source>车票编号</source>
        <translation>Ticket id</translation>
    </message>
    <message>
        <source>乘客</source>
        <translation>Passenger</translation>
    </message>
    <message>
        <source>证件</source>
        <translation>Document</translation>
    </message>
    <message>
        <source>发车</source>
        <translation>Departs</translation>
    </message>
    <message>
        <source>班次</source>
        <translation>Service</translation>
    </message>
    <message>
        <source>到站</source>
        <translation>To</translation>
    </message>
    <message>
        <source>座位</source>
        <translation>Seat</translation>
    </message>
    <message>
        <source>纸票已出 Del</source>
        <translation>Paper is out  Del</translation>
    </message>
    <message>
        <source>全部打印 Enter</source>
        <translation>Print all  Enter</translation>
    </message>
    <message>
        <source>稍后 Esc</source>
        <translation>Later  Esc</translation>
    </message>
    <message>
        <source>%1 号</source>
        <translation>Seat %1</translation>
    </message>
    <message>
        <source>无座</source>
        <translation>No seat</translation>
    </message>
    <message>
        <source>已送打印机：%1 张，请稍候</source>
        <translation>Sent to the printer: %1, please wait</translation>
    </message>
    <message>
        <source>打印失败：%1</source>
        <translation>Printing failed: %1</translation>
    </message>
</context>
<context>
    <name>GateActionDialog</name>
    <message>
        <source>值班站长</source>
        <translation>Supervisor</translation>
    </message>
    <message>
        <source>工号</source>
        <translation>Code</translation>
    </message>
    <message>
        <source>密码</source>
        <translation>Password</translation>
    </message>
    <message>
        <source>确认 Enter</source>
        <translation>Confirm  Enter</translation>
    </message>
    <message>
        <source>关闭 Esc</source>
        <translation>Close  Esc</translation>
    </message>
    <message>
        <source>需要值班站长输入工号和密码</source>
        <translation>A supervisor must enter their code and password</translation>
    </message>
    <message>
        <source>请填写所有项目</source>
        <translation>Fill in every field</translation>
    </message>
</context>
<context>
    <name>GateMode</name>
    <message>
        <source>请先选择检票班次（Ctrl+B 到班次列表）</source>
        <translation>Choose the departure to check first (Ctrl+B: the departures)</translation>
    </message>
    <message>
        <source>原因</source>
        <translation>Reason</translation>
    </message>
    <message>
        <source>开检：%1</source>
        <translation>Open check: %1</translation>
    </message>
    <message>
        <source>车牌</source>
        <translation>Plate</translation>
    </message>
    <message>
        <source>驾驶员</source>
        <translation>Driver</translation>
    </message>
    <message>
        <source>已检 %1 人，未检 %2 人。停检后生成路单并打印。</source>
        <translation>%1 checked, %2 not checked. Stopping makes the road bill and prints it.</translation>
    </message>
    <message>
        <source>停检：%1</source>
        <translation>Stop check: %1</translation>
    </message>
    <message>
        <source>补检：%1</source>
        <translation>Late check: %1</translation>
    </message>
    <message>
        <source>注销检票</source>
        <translation>Undo a check</translation>
    </message>
    <message>
        <source>票号</source>
        <translation>Ticket no.</translation>
    </message>
    <message>
        <source>路单生成后不能注销检票。</source>
        <translation>A check cannot be undone once the road bill is made.</translation>
    </message>
    <message>
        <source>改乘</source>
        <translation>Ride change</translation>
    </message>
    <message>
        <source>改乘班次</source>
        <translation>To departure</translation>
    </message>
    <message>
        <source>改乘班次须经停该票的到站；原座位释放。</source>
        <translation>The departure must serve the ticket's destination; the original seat is freed.</translation>
    </message>
    <message>
        <source>并班：%1 并入</source>
        <translation>Merge: %1 into</translation>
    </message>
    <message>
        <source>并入班次</source>
        <translation>Into departure</translation>
    </message>
    <message>
        <source>并班后，本班次的车票在并入班次检票。</source>
        <translation>After the merge this departure's tickets board the other one.</translation>
    </message>
    <message>
        <source>作废路单 %1</source>
        <translation>Void road bill %1</translation>
    </message>
    <message>
        <source>本班次还没有路单（F3 停检后生成）</source>
        <translation>This departure has no road bill yet (F3 stop makes it)</translation>
    </message>
    <message>
        <source>路单已送打印机</source>
        <translation>Road bill sent to the printer</translation>
    </message>
    <message>
        <source>路单打印预览（Esc 关闭）</source>
        <translation>Road bill print preview (Esc closes)</translation>
    </message>
    <message>
        <source>路单打印失败：%1（路单已保存，F8 补打）</source>
        <translation>Road bill not printed: %1 (the bill is kept; F8 prints it again)</translation>
    </message>
    <message>
        <source>%1 号检票口</source>
        <translation>gate %1</translation>
    </message>
</context>
<context>
    <name>GateView</name>
    <message>
        <source>今日班次（本检票口）</source>
        <translation>Today's departures (this gate)</translation>
    </message>
    <message>
        <source>发车</source>
        <translation>Departs</translation>
    </message>
    <message>
        <source>班次 / 到站</source>
        <translation>Departure / to</translation>
    </message>
    <message>
        <source>检票口</source>
        <translation>Gate</translation>
    </message>
    <message>
        <source>状态</source>
        <translation>State</translation>
    </message>
    <message>
        <source>开检</source>
        <translation>Opens</translation>
    </message>
    <message>
        <source>时间</source>
        <translation>Time</translation>
    </message>
    <message>
        <source>结果</source>
        <translation>Verdict</translation>
    </message>
    <message>
        <source>乘客</source>
        <translation>Passenger</translation>
    </message>
    <message>
        <source>座位</source>
        <translation>Seats</translation>
    </message>
    <message>
        <source>到站</source>
        <translation>To</translation>
    </message>
    <message>
        <source>↑↓ 选班次，Enter 设为当前检票班次；F2 开检，F3 停检</source>
        <translation>↑↓ choose, Enter checks this departure; F2 open check, F3 stop</translation>
    </message>
    <message>
        <source>当前检票班次</source>
        <translation>Departure being checked</translation>
    </message>
    <message>
        <source>已售</source>
        <translation>Sold</translation>
    </message>
    <message>
        <source>已检</source>
        <translation>Checked</translation>
    </message>
    <message>
        <source>未检</source>
        <translation>Not checked</translation>
    </message>
    <message>
        <source>免票儿童</source>
        <translation>Free children</translation>
    </message>
    <message>
        <source>改乘</source>
        <translation>Ride change</translation>
    </message>
    <message>
        <source>绿色 ✓ 已检　蓝色 已售未检　白色 空座　灰色 留座</source>
        <translation>Green ✓ checked   blue sold, not checked   white free   grey held</translation>
    </message>
    <message>
        <source>扫码 / 票号</source>
        <translation>Scan / number</translation>
    </message>
    <message>
        <source>扫描车票二维码，或输入票号 / 票卷号后按 Enter</source>
        <translation>Scan the ticket's code, or type its ticket or stock number and Enter</translation>
    </message>
    <message>
        <source>检票口 %1</source>
        <translation>Gate %1</translation>
    </message>
    <message>
        <source>没有今日班次</source>
        <translation>No departures today</translation>
    </message>
    <message>
        <source>车牌 %1</source>
        <translation>Plate %1</translation>
    </message>
    <message>
        <source>驾驶员 %1</source>
        <translation>Driver %1</translation>
    </message>
    <message>
        <source>开检 %1</source>
        <translation>Opens %1</translation>
    </message>
    <message>
        <source>补检截止 %1</source>
        <translation>Late check until %1</translation>
    </message>
    <message>
        <source>路单 %1</source>
        <translation>Road bill %1</translation>
    </message>
    <message>
        <source>下一班开检：%1 %2（还有 %3）</source>
        <translation>Next opening: %1 %2 (in %3)</translation>
    </message>
    <message>
        <source>扫码枪已断开：请刷身份证或输入票号继续检票</source>
        <translation>Scanner disconnected: go on with ID cards or typed numbers</translation>
    </message>
    <message>
        <source>读卡器已断开：请扫码或输入票号继续检票</source>
        <translation>Card reader disconnected: go on with scans or typed numbers</translation>
    </message>
    <message>
        <source>扫码枪：就绪</source>
        <translation>Scanner: ready</translation>
    </message>
    <message>
        <source>扫码枪：已断开</source>
        <translation>Scanner: disconnected</translation>
    </message>
    <message>
        <source>扫码枪：键盘口</source>
        <translation>Scanner: keyboard</translation>
    </message>
    <message>
        <source>扫码枪：检测中</source>
        <translation>Scanner: checking</translation>
    </message>
    <message>
        <source>读卡器：就绪</source>
        <translation>Reader: ready</translation>
    </message>
    <message>
        <source>读卡器：已断开</source>
        <translation>Reader: disconnected</translation>
    </message>
    <message>
        <source>读卡器：未配置</source>
        <translation>Reader: none</translation>
    </message>
    <message>
        <source>读卡器：检测中</source>
        <translation>Reader: checking</translation>
    </message>
    <message>
        <source>请先选择检票班次（Ctrl+B 到班次列表）</source>
        <translation>Choose the departure to check first (Ctrl+B: the departures)</translation>
    </message>
    <message>
        <source>座号</source>
        <translation>Seat</translation>
    </message>
</context>
<context>
    <name>SupervisorMode</name>
    <message>
        <source>停班后本班次停止售票；已售车票转为免费退票任务，售票员在 F11 中办理。</source>
        <translation>Once cancelled the departure is no longer sold; its tickets become fee-free refund tasks the clerks settle with F11.</translation>
    </message>
    <message>
        <source>停班：%1 %2</source>
        <translation>Cancel: %1 %2</translation>
    </message>
    <message>
        <source>加班车与所选班次同线路、同车型、同票价；座位全部租给本机，立即可售。</source>
        <translation>The extra bus runs the route, vehicle class and fares of the selected departure; all its seats are leased to this terminal and sell at once.</translation>
    </message>
    <message>
        <source>加班：按 %1 %2 加开</source>
        <translation>Extra bus like %1 %2</translation>
    </message>
    <message>
        <source>原因</source>
        <translation>Reason</translation>
    </message>
    <message>
        <source>发车时间</source>
        <translation>Departure time</translation>
    </message>
    <message>
        <source>导出失败：%1</source>
        <translation>Export failed: %1</translation>
    </message>
    <message>
        <source>已停班 %1：%2 张车票转为免费退票任务</source>
        <translation>Cancelled %1: %2 ticket(s) became fee-free refund tasks</translation>
    </message>
    <message>
        <source>已加班 %1：%2 座，可立即售票</source>
        <translation>Extra bus %1: %2 seats, on sale now</translation>
    </message>
    <message>
        <source>已导出：%1</source>
        <translation>Exported: %1</translation>
    </message>
    <message>
        <source>已晚点 %1：新的发车时间 %2 %3</source>
        <translation>Delayed %1: now leaves %2 %3</translation>
    </message>
    <message>
        <source>座位数</source>
        <translation>Seats</translation>
    </message>
    <message>
        <source>新的发车时间</source>
        <translation>New departure time</translation>
    </message>
    <message>
        <source>新的日期</source>
        <translation>New date</translation>
    </message>
    <message>
        <source>日期</source>
        <translation>Date</translation>
    </message>
    <message>
        <source>晚点：%1 %2</source>
        <translation>Delay: %1 %2</translation>
    </message>
    <message>
        <source>请先在列表中选择班次</source>
        <translation>Select a departure in the list first</translation>
    </message>
    <message>
        <source>车票保留原座位，各终端的班次列表显示新的时间。</source>
        <translation>Tickets keep their seats; every terminal lists the new time.</translation>
    </message>
</context>
<context>
    <name>SupervisorView</name>
    <message>
        <source>值班站长 · %1 当日数据</source>
        <translation>Supervisor · the day %1</translation>
    </message>
    <message>
        <source>停班</source>
        <translation>Cancelled</translation>
    </message>
    <message>
        <source>净收</source>
        <translation>Net</translation>
    </message>
    <message>
        <source>已发车</source>
        <translation>Departed</translation>
    </message>
    <message>
        <source>已售</source>
        <translation>Sold</translation>
    </message>
    <message>
        <source>废票</source>
        <translation>Voids</translation>
    </message>
    <message>
        <source>座位</source>
        <translation>Seats</translation>
    </message>
    <message>
        <source>张数</source>
        <translation>Count</translation>
    </message>
    <message>
        <source>手续费（元）</source>
        <translation>Fees (yuan)</translation>
    </message>
    <message>
        <source>改签</source>
        <translation>Changes</translation>
    </message>
    <message>
        <source>时间</source>
        <translation>Time</translation>
    </message>
    <message>
        <source>晚点</source>
        <translation>Delayed</translation>
    </message>
    <message>
        <source>检票</source>
        <translation>Checked</translation>
    </message>
    <message>
        <source>检票中</source>
        <translation>Boarding</translation>
    </message>
    <message>
        <source>正在向省平台查询……</source>
        <translation>Asking the provincial server…</translation>
    </message>
    <message>
        <source>正常</source>
        <translation>Normal</translation>
    </message>
    <message>
        <source>状态</source>
        <translation>Status</translation>
    </message>
    <message>
        <source>班次</source>
        <translation>Departure</translation>
    </message>
    <message>
        <source>省平台数据（全站各终端）</source>
        <translation>Provincial server's figures (every terminal of the station)</translation>
    </message>
    <message>
        <source>离线：仅为本机 %1 所知的数据（%2）</source>
        <translation>Offline: only what this terminal %1 knows (%2)</translation>
    </message>
    <message>
        <source>窗口售票</source>
        <translation>Window sales</translation>
    </message>
    <message>
        <source>线路</source>
        <translation>Route</translation>
    </message>
    <message>
        <source>网络售票</source>
        <translation>Web sales</translation>
    </message>
    <message>
        <source>路单</source>
        <translation>Road bill</translation>
    </message>
    <message>
        <source>退票</source>
        <translation>Refunds</translation>
    </message>
    <message>
        <source>金额（元）</source>
        <translation>Amount (yuan)</translation>
    </message>
    <message>
        <source>项目</source>
        <translation>Item</translation>
    </message>
    <message>
        <source>加班</source>
        <translation>extra</translation>
    </message>
</context>
</TS>