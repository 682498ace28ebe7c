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
    # Email and push for what was missed (issue 16)
    "Email address": "电子邮件地址",
    "We send a link to confirm it; nothing else goes to it before.": "我们会发送一个确认链接；确认之前不会向它发送其他邮件。",  # noqa: E501
    "Email me the direct messages and mentions I missed": "用电子邮件告诉我错过的私信和提及",  # noqa: E501
    "We sent a link to %(email)s: open it to confirm it.": "我们已向 %(email)s 发送了一个链接：打开它即可确认。",  # noqa: E501
    "We sent the link again.": "我们已重新发送链接。",
    "Saved.": "已保存。",
    "Confirm your email address": "确认你的电子邮件地址",
    "%(count)d message you missed": "你错过了 %(count)d 条消息",
    "Account settings": "账号设置",
    "%(email)s is confirmed.": "%(email)s 已确认。",
    "%(email)s is not confirmed yet: open the link we sent to it. Until then nothing is sent to it.": "%(email)s 尚未确认：请打开我们发给它的链接。确认之前不会向它发送任何邮件。",  # noqa: E501
    "Send the link again": "重新发送链接",
    "No email address: you get no email from us.": "没有电子邮件地址：你不会收到我们的邮件。",  # noqa: E501
    "Save the address": "保存地址",
    "Email notifications": "邮件通知",
    "Sent when a direct message or a mention is still unread %(minutes)s minute after it came while you were away.": "你不在时收到的私信或提及，在 %(minutes)s 分钟后仍未读时发送。",  # noqa: E501
    "Browser notifications": "浏览器通知",
    "This browser shows a notification for a direct message or a mention when no page of the chat is open.": "没有打开聊天页面时，这个浏览器会为私信或提及显示通知。",  # noqa: E501
    "Turn on browser notifications": "开启浏览器通知",
    "Turn off browser notifications": "关闭浏览器通知",
    "Browser notifications are not set up on this server.": "这台服务器没有设置浏览器通知。",  # noqa: E501
    "Password": "密码",
    "Reset my password by email": "通过电子邮件重置密码",
    "Address confirmed": "地址已确认",
    "%(email)s is confirmed: we will email you the direct messages and mentions you miss.": "%(email)s 已确认：我们会用电子邮件告诉你错过的私信和提及。",  # noqa: E501
    "This link does not work": "这个链接无效",
    "It is too old, or it is for an address that is no longer yours. Ask for a new one on the account page.": "链接已过期，或对应的地址已不再属于你。请在账号页面重新获取。",  # noqa: E501
    "You are unsubscribed": "你已退订",
    "We will not email you the messages you miss any more. You can turn it back on in your account settings.": "我们不会再用电子邮件发送你错过的消息。你可以在账号设置中重新开启。",  # noqa: E501
    "Turn email notifications off in your account settings instead.": "请改为在账号设置中关闭邮件通知。",  # noqa: E501
    "Hello %(name)s,": "%(name)s，你好：",
    "Open this link to confirm that this is your address:": "打开这个链接，确认这是你的地址：",  # noqa: E501
    "If you did not ask for this, ignore this email: nothing will be sent to this address.": "如果这不是你的请求，请忽略这封邮件：不会有邮件发送到这个地址。",  # noqa: E501
    "While you were away:": "你不在时：",
    "%(sender)s in %(place)s": "%(sender)s 在 %(place)s",
    "%(sender)s, in a direct message": "%(sender)s，私信",
    "direct message": "私信",
    "Turn these emails off:": "关闭这些邮件：",
    "Your settings:": "你的设置：",
    "Open the conversation": "打开对话",
    "Turn these emails off": "关闭这些邮件",
    "Your settings": "你的设置",
    "Reset your password": "重置密码",
    "Type the confirmed email address of your account: we send a link to set a new password to it.": "输入你账号已确认的电子邮件地址：我们会向它发送设置新密码的链接。",  # noqa: E501
    "Send the link": "发送链接",
    "Check your email": "请查收邮件",
    "If an account has that confirmed address, a link to set a new password is on its way to it.": "如果有账号使用这个已确认的地址，设置新密码的链接正在发往该地址。",  # noqa: E501
    "Set a new password": "设置新密码",
    "Set the password": "设置密码",
    "It was used already or is too old.": "它已被使用或已过期。",
    "Ask for a new one": "重新获取",
    "Password changed": "密码已更改",
    "Your new password is set.": "你的新密码已设置。",
    "Someone asked to reset the password of your account. Open this link to set a new one:": "有人请求重置你账号的密码。打开这个链接设置新密码：",  # noqa: E501
    "If it was not you, ignore this email: your password stays as it is.": "如果不是你，请忽略这封邮件：你的密码不会改变。",  # noqa: E501
    "Forgot your password?": "忘记密码？",
    "This browser cannot show notifications from the server.": "这个浏览器无法显示来自服务器的通知。",  # noqa: E501
    "Browser notifications are on in this browser.": "这个浏览器已开启浏览器通知。",
    "Browser notifications are off in this browser.": "这个浏览器已关闭浏览器通知。",
    "Notifications are blocked for this site in the browser.": "浏览器已阻止这个网站的通知。",  # noqa: E501
    "Browser notifications could not be turned on.": "无法开启浏览器通知。",
    # Moderation pages (issue 18: invites, reports, the audit log, members' actions)
    "changed the role of": "更改了角色：",
    "removed": "移出了",
    "banned": "封禁了",
    "lifted the ban of": "解除了封禁：",
    "muted the member": "禁言了",
    "lifted the mute of": "解除了禁言：",
    "made an invite link": "创建了邀请链接",
    "revoked an invite link": "撤销了邀请链接",
    "deleted a message of": "删除了消息，发送者：",
    "resolved a report about": "处理了举报，对象：",
    "For how long": "持续多久",
    "1 hour": "1 小时",
    "1 day": "1 天",
    "1 week": "1 周",
    "Forever (until lifted)": "永久（直到解除）",
    "Reason (optional)": "原因（可选）",
    "Audit log of %(name)s": "%(name)s 的审计日志",
    "Back to the room": "返回房间",
    "Reports": "举报",
    "Actions, the newest first": "操作记录，最新的在前",
    "the system": "系统",
    "Nothing has been done here yet.": "这里还没有任何操作。",
    "Older entries": "更早的记录",
    "Moderation": "管理",
    "Audit log": "审计日志",
    "Invite links": "邀请链接",
    "Expires after": "有效期",
    "Never": "永不过期",
    "At most this many people (empty: any number)": "最多可用人数（留空：不限）",
    "Make an invite link": "创建邀请链接",
    "Banned": "已封禁",
    "Invitation to %(name)s": "加入 %(name)s 的邀请",
    "You are invited to join": "你受邀加入",
    "A private room: only its members see its messages.": "私密房间：只有成员能看到其中的消息。",  # noqa: E501
    "You are a member of this room already.": "你已经是这个房间的成员。",
    "Open the room": "打开房间",
    "Join the room": "加入房间",
    "Invite link not valid": "邀请链接无效",
    "This invite link cannot be used: it may have expired, been used up or been revoked. Ask for a new one.": "这个邀请链接无法使用：它可能已过期、已用完或已被撤销。请索取新的链接。",  # noqa: E501
    "Reports in %(name)s": "%(name)s 的举报",
    "Open reports, the oldest first": "待处理的举报，最早的在前",
    "Reported by %(name)s": "举报人：%(name)s",
    "Dismiss the report": "驳回举报",
    "Delete the message": "删除这条消息",
    "Mute the sender…": "禁言发送者…",
    "Ban the sender…": "封禁发送者…",
    "No open reports.": "没有待处理的举报。",
    "Report": "举报",
    "You are muted in this room.": "你在这个房间已被禁言。",
    "You were banned from this room.": "你已被这个房间封禁。",
    "moderator": "管理员",
    "until lifted": "直到解除",
    "until %(time)s": "直到 %(time)s",
    "muted here": "已禁言",
    "Make moderator": "设为管理员",
    "Make %(name)s a moderator": "将 %(name)s 设为管理员",
    "Lift the mute": "解除禁言",
    "Lift the mute of %(name)s": "解除 %(name)s 的禁言",
    "Mute…": "禁言…",
    "Mute %(name)s": "禁言 %(name)s",
    "Ban…": "封禁…",
    "Ban %(name)s": "封禁 %(name)s",
    "Lift the ban": "解除封禁",
    "Lift the ban of %(name)s": "解除 %(name)s 的封禁",
    "No one is banned.": "没有人被封禁。",
    "Invite link": "邀请链接",
    "Copy": "复制",
    "Copied": "已复制",
    "Select the link and copy it.": "请选中链接后复制。",
    "used %(uses)s times": "已使用 %(uses)s 次",
    "used %(uses)s of %(max)s times": "已使用 %(uses)s/%(max)s 次",
    "expires": "过期时间",
    "never expires": "永不过期",
    "Revoke": "撤销",
    "Revoke this invite link": "撤销这个邀请链接",
    "You are muted in this room until %(time)s.": "你在这个房间被禁言，直到 %(time)s。",
    "You are muted in this room until a moderator lifts it.": "你在这个房间被禁言，直到管理员解除。",  # noqa: E501
    "Reason: %(reason)s.": "原因：%(reason)s。",
    "until": "直到",
    "You can still read it.": "你仍然可以阅读。",
    "Why are you reporting it?": "举报原因是什么？",
    "Report this message": "举报这条消息",
    "Reported: the room's moderators will look at it.": "已举报：房间的管理员会查看。",
    "Ban now": "立即封禁",
    "Mute now": "立即禁言",
    # Customer support (issue 19)
    "No one is available now: leave a message instead.": "现在没有客服在线：请留言。",
    "Your conversation with %(site)s": "你与 %(site)s 的对话",
    "Message left on %(site)s": "%(site)s 上的留言",
    "snippet": "代码片段",
    "Saved sites show the snippet to paste on their pages.": "保存站点后会显示要粘贴到其页面上的代码片段。",  # noqa: E501
    # Customer support: the widget and the agents' pages (issue 19)
    "Close the chat": "关闭在线咨询",
    "Your name": "你的名字",
    "(optional)": "（可选）",
    "Your email": "你的电子邮件",
    "How did we do?": "我们的服务怎么样？",
    "Comment (optional)": "评论（可选）",
    "Rate": "评分",
    "Email me the transcript": "把聊天记录发到我的邮箱",
    "Your message": "你的留言",
    "Type your message…": "输入消息…",
    "Attach a file": "附加文件",
    "Leave a message": "留言",
    "We are away right now. Leave a message and we will answer by email.": "我们现在不在。请留言，我们会通过电子邮件回复。",  # noqa: E501
    "You are number %(position)s in the queue. Estimated wait: about %(minutes)s min.": "你在队列中排第 %(position)s 位。预计等待约 %(minutes)s 分钟。",  # noqa: E501
    "Agent": "客服",
    "An agent": "一位客服",
    "%(name)s joined the conversation.": "%(name)s 加入了对话。",
    "The agent": "客服",
    "The conversation was closed.": "对话已结束。",
    "Send a message first, then attach a file.": "请先发送一条消息，再附加文件。",
    "The file could not be sent.": "文件无法发送。",
    "Thank you: we will answer by email.": "谢谢：我们会通过电子邮件回复。",
    "Thank you for your rating.": "感谢你的评分。",
    "The transcript is on its way.": "聊天记录正在发送。",
    "File": "文件",
    "Support": "客服",
    "Support conversations": "客服对话",
    "Turn on sound and desktop notifications": "开启声音和桌面通知",
    "Metrics": "统计",
    "Queue": "排队",
    "No one is waiting.": "没有人在等待。",
    "My conversations": "我的对话",
    "None open.": "没有进行中的对话。",
    "The team's open conversations": "团队进行中的对话",
    "Choose a conversation, or take one from the queue.": "选择一个对话，或从队列中接入一个。",  # noqa: E501
    "Take it": "接入",
    "Reopen": "重新打开",
    "Transfer": "转接",
    "To": "转给",
    "A note for them": "给对方的备注",
    "Canned replies": "快捷回复",
    "Reply… (/ for canned replies)": "回复…（输入 / 使用快捷回复）",
    "Internal note (the visitor never sees it)": "内部备注（访客永远看不到）",
    "Visitor": "访客",
    "Email": "电子邮件",
    "Came from": "来源页面",
    "Browser": "浏览器",
    "Their local time": "对方当地时间",
    "Site": "网站",
    "waiting %(n)s s": "已等待 %(n)s 秒",
    "waiting %(n)s min": "已等待 %(n)s 分钟",
    "Closed": "已结束",
    "Waiting in the queue": "排队等待中",
    "With %(name)s": "由 %(name)s 接待",
    "Internal note": "内部备注",
    "The visitor": "访客",
    "New conversation: %(name)s": "新对话：%(name)s",
    "Support metrics": "客服统计",
    "Back to the queue": "返回队列",
    "Download as CSV": "下载 CSV",
    "First response and resolution are counted from each opening or reopening, human replies only; in calendar time and within business hours.": "首次响应和解决时间从每次打开或重新打开算起，只计人工回复；分别按自然时间和营业时间计算。",  # noqa: E501
    "Nothing to count yet.": "还没有可统计的数据。",
    "offered to you": "已分配给你",
    "Transfer note for %(name)s": "给 %(name)s 的转接备注",
    "Day": "日期",
    "First response (s)": "首次响应（秒）",
    "First response, business hours (s)": "首次响应，营业时间内（秒）",
    "Resolution (s)": "解决用时（秒）",
    "Resolution, business hours (s)": "解决用时，营业时间内（秒）",
    "Ratings": "评分数",
    "Average rating": "平均评分",
    "From": "从",
    "Show": "显示",
    "Typed after “/”.": "在“/”之后输入。",
    # Presence (issue 16)
    "Hide my presence": "隐藏我的在线状态",
    "Others then always see me as offline, with no “last seen” time.": "其他人将始终看到我离线，也看不到“最后在线”时间。",  # noqa: E501
    "Your settings are saved.": "设置已保存。",
    "Presence": "在线状态",
    "People who share a conversation with you see whether you are online, away or offline, and when you were last seen.": "与你同在一个会话中的人能看到你是在线、离开还是离线，以及你最后在线的时间。",  # noqa: E501
    "Save": "保存",
    "Online": "在线",
    "Away": "离开",
    "Offline": "离线",
    "last seen %(when)s": "最后在线：%(when)s",
    # Customer support: a visitor's files, teams (issue 19)
    "Files to send": "待发送的文件",
    "The file could not be opened.": "文件无法打开。",
    "Agents": "客服人员",
    "Teams": "团队",
    "Team %(name)s": "%(name)s 团队",
    "Transferred by %(name)s: %(note)s": "%(name)s 转交：%(note)s",
    "Transfer note for team %(name)s": "给 %(name)s 团队的转交备注",
    "Waiting for team %(name)s": "等待 %(name)s 团队",
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
    """One entry with its msgstr from ZH_HANS (and no fuzzy flag, nor the
    earlier msgid makemessages guessed it from: msgfmt skips fuzzy entries)."""
    lines = [_unfuzzy(line) for line in lines if not line.startswith("#|")]
    lines = [line for line in lines if line.rstrip() != "#,"]
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


def _unfuzzy(line: str) -> str:
    if not line.startswith("#,"):
        return line
    flags = [flag.strip() for flag in line[2:].split(",")]
    return "#, " + ", ".join(flag for flag in flags if flag and flag != "fuzzy")


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
