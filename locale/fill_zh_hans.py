"""Fill the Simplified Chinese catalogues from the table below (msgids unchanged).

Run `make messages` after changing a visible string: it extracts the strings
(makemessages), fills what this table knows, compiles the .mo files, and lists
what is left untranslated.
"""

import sys
from pathlib import Path

ZH_HANS = {
    # Pages (django.po)
    "Revoked %d token.": "已吊销 %d 个令牌。",
    "Deactivated %d user.": "已停用 %d 个用户。",
    "1-50 lower-case letters, digits, “-” or “_”.": "1 到 50 个小写字母、数字、“-”或“_”。",  # noqa: E501
    "Room name": "房间名",
    "Title (optional)": "标题（可选）",
    "Private: only people I add can see it": "私密：只有我添加的人能看到",
    "Username": "用户名",
    "A room with this name exists already.": "已有同名的房间。",
    "This room name cannot be used.": "不能使用这个房间名。",
    "No one has this username.": "没有这个用户名的用户。",
    "Choose someone other than yourself.": "请选择除你以外的人。",
    "You joined %(room)s.": "你已加入 %(room)s。",
    "Sign up": "注册",
    "Too many attempts. Try again in %(count)d second.": "尝试次数过多，请在 %(count)d 秒后重试。",  # noqa: E501
    "Too many attempts. Try again in %(count)d minute.": "尝试次数过多，请在 %(count)d 分钟后重试。",  # noqa: E501
    "Have an account?": "已有账号？",
    "Log in": "登录",
    "Chat": "聊天",
    "Skip to content": "跳到正文",
    "Account": "账号",
    "Signed in as <strong>%(name)s</strong>": "已登录：<strong>%(name)s</strong>",
    "Log out": "退出登录",
    "Language": "语言",
    "Switch": "切换",
    "Rooms": "房间",
    "You are in no room yet.": "你还没有加入任何房间。",
    "private": "私密",
    "%(counter)s unread": "%(counter)s 条未读",
    "%(count)s unread": "%(count)s 条未读",
    "Direct conversations": "私聊",
    "No direct conversations yet.": "还没有私聊。",
    "Conversations": "会话",
    "All conversations": "全部会话",
    "Conversation with %(name)s": "与 %(name)s 的私聊",
    "Connecting…": "正在连接…",
    "Messages": "消息",
    "Load older messages": "加载更早的消息",
    "Members": "成员",
    "Message": "消息",
    "Write a message…": "输入消息…",
    "Send": "发送",
    "Enter sends, Shift+Enter starts a new line.": "按 Enter 发送，Shift+Enter 换行。",
    "Your conversations": "你的会话",
    "Start a direct conversation": "发起私聊",
    "Open conversation": "打开会话",
    "Create a room": "创建房间",
    "Create room": "创建房间",
    "Public rooms to join": "可加入的公开房间",
    "Join %(name)s": "加入 %(name)s",
    "Join": "加入",
    "No other public rooms.": "没有其他公开房间。",
    "This is a public room. Join it to read and write its messages.": (
        "这是一个公开房间。加入后即可阅读和发送消息。"
    ),
    "Back to your conversations": "返回你的会话",
    "Not found": "未找到",
    "No one has the username “%(name)s”.": "没有用户名为“%(name)s”的用户。",
    "There is no room named “%(name)s”.": "没有名为“%(name)s”的房间。",
    "Private room": "私密房间",
    "This room is private: only its members can see it. Ask its owner to add you.": (
        "这是私密房间：只有成员能看到。请让房主把你加进来。"
    ),
    "No account yet?": "还没有账号？",
    "There is no page at this address.": "这个地址没有页面。",
    "Not allowed": "不允许",
    "You may not open this page.": "你不能打开这个页面。",
    # The browser client (djangojs.po)
    "Connected": "已连接",
    "Reconnecting…": "正在重新连接…",
    "Offline: waiting for the network": "离线：等待网络恢复",
    "Signed out: log in again": "已退出：请重新登录",
    "Write something first.": "请先输入内容。",
    "Too long: at most 4,000 characters.": "太长了：最多 4000 个字符。",
    "You cannot write here.": "你不能在这里发消息。",
    "This conversation no longer exists.": "这个会话已不存在。",
    "The server cannot store messages right now.": "服务器暂时无法保存消息。",
    "You are no longer a member of this room.": "你已不是这个房间的成员。",
    "No messages yet. Say hello!": "还没有消息。打个招呼吧！",
    "Could not load the history. It will come with the connection.": (
        "无法加载历史消息。连接恢复后会自动补上。"
    ),
    "owner": "房主",
    "%(name)s is typing…": "%(name)s 正在输入…",
    "%(first)s and %(second)s are typing…": "%(first)s 和 %(second)s 正在输入…",
    "Several people are typing…": "多人正在输入…",
    "Retry": "重试",
    "Not sent: %(reason)s": "未发送：%(reason)s",
    "Sending…": "正在发送…",
    "Waiting for the connection…": "等待连接…",
    "the server refused it.": "服务器拒绝了它。",
    # The app shell (issue 14)
    "Jump to…": "跳转到…",
    "Dismiss": "关闭",
    "Go to a conversation or a person": "前往会话或联系人",
    "Matches": "匹配项",
    "↑ ↓ to choose, Enter to open, Esc to close.": "↑ ↓ 选择，Enter 打开，Esc 关闭。",
    "unread": "条未读",
    "New conversation": "新会话",
    "People": "联系人",
    "Turn on desktop notifications": "开启桌面通知",
    "Mute": "免打扰",
    "Details": "详情",
    "Jump to latest": "跳到最新",
    "Close": "关闭",
    "Room settings": "房间设置",
    "Name": "名称",
    "Private: only members can see it": "私密：只有成员能看到",
    "Add a member by username": "按用户名添加成员",
    "Add": "添加",
    "Delete the room": "删除房间",
    "Delete it and all its messages for everyone?": "要为所有人删除这个房间及其全部消息吗？",  # noqa: E501
    "Delete for good": "永久删除",
    "Cancel": "取消",
    "Leave the room": "退出房间",
    "Enter sends, Shift+Enter starts a new line. **bold**, *italic*, `code`, > quote, - list.": "Enter 发送，Shift+Enter 换行。**粗体**、*斜体*、`代码`、> 引用、- 列表。",  # noqa: E501
    "Find people": "查找联系人",
    "Find someone by username": "按用户名查找",
    "Search": "搜索",
    "No one matches.": "没有匹配的人。",
    "Today": "今天",
    "Yesterday": "昨天",
    "The server refused it.": "服务器拒绝了请求。",
    "You were removed from this room.": "你已被移出这个房间。",
    "This room was deleted.": "这个房间已被删除。",
    "%(name)s: %(text)s": "%(name)s：%(text)s",
    "(you)": "（你）",
    "New messages": "新消息",
    "Make owner": "设为房主",
    "Make %(name)s an owner": "把 %(name)s 设为房主",
    "Make member": "设为成员",
    "Make %(name)s a member": "把 %(name)s 设为成员",
    "Remove": "移除",
    "Remove %(name)s": "移除 %(name)s",
    "Unmute": "取消免打扰",
    "Muted: no count in the tab title, no desktop notification": "已免打扰：标签标题不计数，也不发桌面通知",  # noqa: E501
    "Mute: no count in the tab title, no desktop notification": "免打扰：标签标题不计数，也不发桌面通知",  # noqa: E501
    "muted": "免打扰",
    "Room": "房间",
    "Direct conversation": "私聊",
    "Person": "联系人",
    "No matches.": "没有匹配项。",
    # Messages that change (edit, delete, reactions, replies, mentions)
    "mention": "次提及",
    "Message actions": "消息操作",
    "Add a reaction": "添加表情回应",
    "Reply": "回复",
    "Edit": "编辑",
    "Delete": "删除",
    "Delete this message?": "删除这条消息？",
    "Delete this message for everyone?": "为所有人删除这条消息？",
    "Edit the message": "编辑消息",
    "Enter saves, Escape cancels.": "Enter 保存，Esc 取消。",
    "Members to mention": "可提及的成员",
    "everyone here": "这里的所有人",
    "Too late to edit this message.": "已过可编辑时间。",
    "You cannot change this message.": "你不能修改这条消息。",
    "This message no longer exists.": "这条消息已不存在。",
    "Not sent: the connection is down.": "未发送：连接已断开。",
    "someone": "某人",
    "This message was deleted": "这条消息已被删除",
    "(edited)": "（已编辑）",
    "%(names)s reacted with %(emoji)s": "%(names)s 回应了 %(emoji)s",
    "Reactions": "表情回应",
    "React with %(emoji)s": "回应 %(emoji)s",
    "Cancel the reply": "取消回复",
    "Replying to %(name)s: %(text)s": "回复 %(name)s：%(text)s",
    "an earlier message": "一条更早的消息",
    "In reply to %(name)s: %(text)s": "回复 %(name)s：%(text)s",
    "In reply to %(text)s": "回复：%(text)s",
    # Search (issue 17)
    "Search messages": "搜索消息",
    "Words, or any two characters of Chinese, Japanese or Korean": "词语，或任意两个以上的中文、日文、韩文字符",  # noqa: E501
    "Direct conversation with": "私聊对象",
    "Anyone": "任何人",
    "Sent by (username)": "发送者（用户名）",
    "Results": "结果",
    "No message matches.": "没有匹配的消息。",
    "Older results": "更早的结果",
    "No room or person by that name.": "没有这个名字的房间或用户。",
    "You are not a member of that room.": "你不是那个房间的成员。",
    "This search cannot be run: check the filters.": "无法执行这次搜索：请检查筛选条件。",  # noqa: E501
    "Newer messages are not shown: open the latest": "较新的消息未显示：打开最新消息",
    # Attachments (views/attachments.js)
    "Attach files": "添加附件",
    "Uploading %(name)s": "正在上传 %(name)s",
    "The file could not be uploaded.": "文件未能上传。",
    "Download %(name)s": "下载 %(name)s",
    "View %(name)s": "查看 %(name)s",
    # Presence (issue 16)
    "Hide my presence": "隐藏我的在线状态",
    "Others then always see me as offline, with no “last seen” time.": "其他人将始终看到我离线，也看不到“最后在线”时间。",  # noqa: E501
    "Your settings are saved.": "设置已保存。",
    "Account settings": "账号设置",
    "Presence": "在线状态",
    "People who share a conversation with you see whether you are online, away or offline, and when you were last seen.": "与你同在一个会话中的人能看到你是在线、离开还是离线，以及你最后在线的时间。",  # noqa: E501
    "Save": "保存",
    "Online": "在线",
    "Away": "离开",
    "Offline": "离线",
    "last seen %(when)s": "最后在线：%(when)s",
}


HEADER = {
    "Project-Id-Version": "chatsite",
    "Language": "zh_Hans",
    "Language-Team": "Chinese (Simplified)",
    "Last-Translator": "chatsite developers",
}


def unquote(parts: list[str]) -> str:
    """The text of a msgid's quoted lines (the catalogue escapes only \\ and ")."""
    text = "".join(part.strip()[1:-1] for part in parts)
    return text.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def fill_entry(lines: list[str], missing: list[str]) -> list[str]:
    """One entry with its msgstr from ZH_HANS (and no fuzzy flag)."""
    lines = [line for line in lines if line != "#, fuzzy"]
    start = next(i for i, line in enumerate(lines) if line.startswith("msgid "))
    end = start + 1
    while end < len(lines) and lines[end].startswith('"'):
        end += 1
    msgid = unquote([lines[start][len("msgid ") :], *lines[start + 1 : end]])
    if msgid == "":  # the header
        return [_header_line(line) if line.startswith('"') else line for line in lines]
    translation = ZH_HANS.get(msgid)
    if translation is None:
        missing.append(msgid)
        return lines
    msgstr_at = next(i for i, line in enumerate(lines) if line.startswith("msgstr"))
    plural = lines[msgstr_at].startswith("msgstr[")
    head = lines[:msgstr_at]
    return [*head, ("msgstr[0] " if plural else "msgstr ") + quote(translation)]


def _header_line(line: str) -> str:
    name = line[1:].split(":", 1)[0]
    if name in HEADER:
        return f'"{name}: {HEADER[name]}\\n"'
    return line


def fill(path: Path) -> list[str]:
    """Fill every msgstr of `path` from ZH_HANS; return the msgids it lacks."""
    missing: list[str] = []
    blocks = path.read_text(encoding="utf-8").strip("\n").split("\n\n")
    entries = [
        "\n".join(fill_entry(block.split("\n"), missing))
        if any(line.startswith("msgid ") for line in block.split("\n"))
        else block
        for block in blocks
    ]
    path.write_text("\n\n".join(entries) + "\n", encoding="utf-8")
    return missing


if __name__ == "__main__":
    root = Path(__file__).resolve().parent / "zh_Hans" / "LC_MESSAGES"
    left = []
    for name in ("django.po", "djangojs.po"):
        left += fill(root / name)
    for msgid in left:
        print(f"untranslated: {msgid!r}", file=sys.stderr)
    sys.exit(1 if left else 0)
