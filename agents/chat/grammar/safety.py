"""What the parser refuses before reading anything else.

A chat request may only ever produce the user's own subscription. Mass
messaging, other users' data, code or commands, attempts to rewrite the
assistant's instructions, secrets, and delivery addresses typed into the chat
(channels are configured in settings, never taken from a sentence) are refused.
The checks run on the normalised text with place names already replaced.
"""

from __future__ import annotations

import re

from agents.chat.intent import Refusal

_RULES: tuple[tuple[str, re.Pattern[str], str, str], ...] = (
    (
        "mass",
        re.compile(
            r"\b(?:all|every|each)\s+(?:the\s+)?(?:users?|customers?|members?|accounts?|subscribers?|people)\b"
            r"|\beveryone\b|\beverybody\b|\bbroadcast\b|\bmass[-\s]+(?:messag|e?mail|notif|text|sms)|\bspam\b"
            r"|所有用户|全部用户|全体用户|每个用户|所有人|群发|广播|全员"
        ),
        "TaskHub only sends to you; it cannot message other users or everyone at once.",
        "TaskHub 只给你自己推送，不能给其他用户或所有人发消息。",
    ),
    (
        "others",
        re.compile(
            r"\b(?:other|another)\s+(?:users?|people|person|accounts?)\b|\bsomeone\s+else\b|\bsomebody\s+else\b"
            r"|\b(?!my\b|your\b|its\b|it\b|today\b|tomorrow\b)[a-z]+'s\s+(?:subscriptions?|alerts?|reminders?|pushes"
            r"|account|data|inbox|messages?|notifications?|passwords?|settings)\b"
            r"|\buser\s*(?:id\s*)?#?\s*\d+|\b(?:for|of|to)\s+(?:the\s+)?user\b|\bas\s+(?:an?\s+)?(?:admin|root|staff|superuser)\b"
            r"|\bremind\s+(?!me\b|myself\b|us\b)[a-z]+\s+(?:to|that|about)\b"
            r"|别人|他人|其他用户|其他人|用户\s*[a-z0-9_]+|[a-z]+\s*的\s*(?:订阅|提醒|推送|数据|账号)|(?:张三|李四|王五)"
        ),
        "You can only see and change your own subscriptions.",
        "你只能查看和修改自己的订阅。",
    ),
    (
        "code",
        re.compile(
            r"`|\$\(|\b(?:run|execute|exec|eval|evaluate)\s+(?:this\s+|the\s+following\s+|a\s+|some\s+)?"
            r"(?:commands?|code|scripts?|shell|python|bash|sql|query|queries|program)\b"
            r"|\brm\s+-\w+|\bsudo\b|/bin/|\bos\.system\b|\bsubprocess\b|__import__|\bdrop\s+table\b|\bdelete\s+from\b"
            r"|<script|\bshell\b"
            r"|(?:执行|运行).{0,8}(?:命令|代码|脚本|程序)"
        ),
        "TaskHub does not run code or commands.",
        "TaskHub 不会执行代码或命令。",
    ),
    (
        "instructions",
        re.compile(
            r"\b(?:ignore|disregard|forget)\s+(?:all\s+|any\s+)?(?:the\s+|your\s+|my\s+)?(?:previous|prior|above|earlier"
            r"|system|original)?\s*(?:instructions?|prompts?|rules?)\b|\bsystem\s+prompt\b|\bdeveloper\s+mode\b"
            r"|\bjailbreak\b|\bpretend\s+(?:you\s+are|to\s+be)\b|\byou\s+are\s+now\b|\bact\s+as\b"
            r"|忽略.{0,6}(?:指令|指示|规则|提示|设定)|系统提示|你现在是|越狱|扮演"
        ),
        "I can't change how I work; I can set up weather and fuel-price pushes, alerts and reminders for you.",
        "我不能改变自己的工作方式；我可以为你设置天气、油价推送、提醒和预警。",
    ),
    (
        "address",
        re.compile(
            r"https?://|\bwww\.|\b[\w.+-]+@[\w-]+\.[a-z]{2,}|\bwebhooks?\b|\bcallback\s+url\b|\bchannel\s+(?:url|address)\b"
            r"|\burl\b|回调|网址|链接|\+\d[\d\s-]{7,}\d|(?<!\d)1[3-9]\d{9}(?!\d)"
        ),
        "Delivery channels are set in your settings, not in the chat; I can't send to an address typed here.",
        "推送渠道请在设置中配置，不能使用聊天中给出的地址。",
    ),
    (
        "secrets",
        re.compile(
            r"\b(?:show|give|tell|reveal|send|print|list|dump|what(?:'s|\s+is|\s+are))\s+(?:me\s+)?(?:the\s+|your\s+|all\s+)?"
            r"(?:[a-z]+\s+)?(?:api\s*keys?|passwords?|secrets?|tokens?|credentials?)\b|\b(?:make|grant)\s+me\s+(?:an?\s+)?"
            r"(?:admin|staff|superuser)|\bdelete\s+all\s+users\b|密码|密钥|令牌|管理员权限"
        ),
        "I can't give out secrets or change permissions.",
        "我不能提供密钥或修改权限。",
    ),
)
OFF_TOPIC = (
    "I can set up weather and fuel-price pushes on a schedule, alerts when a value crosses a threshold,"
    " and reminders. Try: 'every day at 8am send me the weather in Beijing'.",
    "我可以定时推送天气和油价、在数值越过阈值时提醒你，或者设置提醒。试试：“每天早上8点推送北京天气”。",
)


def check(text: str, *, chinese: bool) -> Refusal | None:
    """A refusal when the normalised ``text`` asks for something unsafe, else None."""
    for _, pattern, en, zh in _RULES:
        if pattern.search(text):
            return Refusal(reason=zh if chinese else en)
    return None


def off_topic(*, chinese: bool) -> Refusal:
    return Refusal(reason=OFF_TOPIC[1] if chinese else OFF_TOPIC[0])
