"""Shared pieces of the benchmarks: realistic messages, loading a mailbox fast, statistics,
tables, peak memory, and running the daemon as a real process on the local mail lab.

Every benchmark runs on loopback against the lab (daemon/lab/): a real Dovecot and a real
SMTP server (aiosmtpd, STARTTLS + AUTH) that delivers into Dovecot over LMTP.
"""

from __future__ import annotations

import contextlib
import email.utils
import math
import os
import random
import resource
import smtplib
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: The code measured: this checkout, or another (FEEDBACKD_BENCH_CODE, e.g. an export of an
#: older commit) measured by these same benchmarks, for a before/after on the same machine.
REPO = Path(os.environ.get("FEEDBACKD_BENCH_CODE") or Path(__file__).resolve().parent.parent)
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

FEEDBACK = "feedback@example.test"  # the address the default rules.yaml treats as our own
MESSAGE_SIZE = 2048

# -- realistic messages -------------------------------------------------------------------------

_TEXT: dict[tuple[str, str], dict[str, list[str]]] = {
    ("thanks", "ru"): {
        "subject": [
            "Спасибо за быструю доставку",
            "Благодарность менеджеру",
            "Отличный сервис",
            "Спасибо!",
            "Благодарю за помощь",
        ],
        "body": [
            "Хочу поблагодарить вашего менеджера Ольгу за внимательное отношение.",
            "Заказ пришёл на день раньше срока, всё упаковано аккуратно.",
            "Курьер был вежлив и позвонил заранее, как и обещали.",
            "Пользуюсь вашими услугами третий год и ни разу не разочаровался.",
            "Отдельное спасибо службе поддержки: ответили за десять минут.",
            "Обязательно порекомендую вас друзьям и коллегам.",
            "Качество товара превзошло ожидания, цена тоже порадовала.",
        ],
    },
    ("thanks", "en"): {
        "subject": [
            "Thank you!",
            "Great service",
            "Thanks to your support team",
            "Very happy with my order",
            "Kudos to Anna",
        ],
        "body": [
            "I just wanted to thank your support team for sorting out my order so quickly.",
            "The parcel arrived a day early and everything was packed with care.",
            "Anna on the phone was patient and explained every option clearly.",
            "I have been a customer for three years and I am still impressed.",
            "Please pass my thanks to the warehouse team as well.",
            "I will happily recommend you to my friends and colleagues.",
            "The quality is excellent and the price was fair.",
        ],
    },
    ("complaint", "ru"): {
        "subject": [
            "Жалоба на доставку",
            "Заказ так и не пришёл",
            "Бракованный товар",
            "Недоволен обслуживанием",
            "Проблема с возвратом",
        ],
        "body": [
            "Заказ должен был прийти в понедельник, но до сих пор его нет.",
            "Курьер опоздал на три часа и даже не позвонил.",
            "Коробка пришла повреждённой, внутри треснувший корпус.",
            "Оператор на горячей линии ответил грубо и бросил трубку.",
            "Деньги списали дважды, а возврат так и не оформили.",
            "Прошу разобраться и сообщить, когда проблема будет решена.",
            "Очень жаль, раньше у вас такого не было.",
        ],
    },
    ("complaint", "en"): {
        "subject": [
            "Order still not delivered",
            "Damaged item",
            "Complaint about support",
            "Refund problem",
            "Very disappointed",
        ],
        "body": [
            "My order was due on Monday and I am still waiting for it.",
            "The courier was three hours late and did not call.",
            "The box arrived damaged and the device inside is broken.",
            "Your hotline agent was rude and hung up on me.",
            "I was charged twice and the refund has not arrived yet.",
            "Please look into this and tell me when it will be fixed.",
            "Unfortunately this is the second time this month.",
        ],
    },
    ("official", "ru"): {
        "subject": ["Претензия по заказу", "Досудебная претензия", "Официальное обращение"],
        "body": [
            "В соответствии с Законом о защите прав потребителей требую вернуть деньги.",
            "Прошу в течение 10 дней рассмотреть настоящую претензию и дать ответ.",
            "В противном случае буду вынужден обратиться в суд и Роспотребнадзор.",
            "Товар ненадлежащего качества, недостатки выявлены в гарантийный срок.",
            "Копии чека и акта осмотра прилагаю к настоящему письму.",
            "Ответ прошу направить по адресу электронной почты, с которого пишу.",
        ],
    },
    ("official", "en"): {
        "subject": ["Formal complaint", "Formal notice regarding order", "Letter before action"],
        "body": [
            "This is a formal notice under the Consumer Rights Act.",
            "I hereby demand a full refund within 14 days of this letter.",
            "Otherwise I will refer the matter to the ombudsman and take legal action.",
            "The goods were not of satisfactory quality when delivered.",
            "Copies of the receipt and the inspection report are attached.",
            "Please reply in writing to this e-mail address.",
        ],
    },
    ("unclassified", "ru"): {
        "subject": ["Вопрос по заказу", "Режим работы", "Изменение адреса доставки"],
        "body": [
            "Подскажите, пожалуйста, можно ли изменить адрес доставки заказа.",
            "Какой у вас режим работы в праздничные дни?",
            "Хотел бы уточнить, есть ли у вас пункт выдачи в Казани.",
            "Можно ли оплатить заказ по счёту от юридического лица?",
            "Сколько стоит доставка в Новосибирск и сколько она занимает?",
            "Есть ли у этой модели другие цвета?",
        ],
    },
    ("unclassified", "en"): {
        "subject": ["Question about my order", "Opening hours", "Change of address"],
        "body": [
            "Could you tell me whether I can change the delivery address of my order?",
            "What are your opening hours over the holidays?",
            "Do you have a pickup point in Manchester?",
            "Can a company pay by invoice?",
            "How much is shipping to Dublin and how long does it take?",
            "Does this model come in other colours?",
        ],
    },
}
KINDS = ("thanks", "complaint", "official", "unclassified")
_NAMES = {
    "ru": ["Ирина Петрова", "Алексей Смирнов", "Ольга Кузнецова", "Дмитрий Волков"],
    "en": ["Jane Smith", "John Brown", "Emily Clark", "Michael Green"],
}
_SIGN = {"ru": "С уважением,", "en": "Best regards,"}
_QUOTED = {
    "ru": [
        "-------- Исходное сообщение --------",
        "От: Интернет-магазин <orders@shop.example>",
        "Тема: Ваш заказ {order} оформлен",
        "",
        "Здравствуйте! Ваш заказ {order} принят и передан на склад.",
        "Состав заказа: 1 шт., артикул 4607001, цвет графит, гарантия 12 месяцев.",
        "Способ доставки: курьер до двери, интервал с 10:00 до 14:00.",
        "Способ оплаты: банковская карта при оформлении заказа.",
        "Отследить заказ можно в личном кабинете в разделе «Мои заказы».",
        "Если вы захотите изменить адрес или время доставки, ответьте на это письмо",
        "или позвоните по телефону 8 800 000-00-00 (звонок бесплатный).",
        "Пункт выдачи хранит заказ 7 дней с момента поступления.",
        "Это письмо сформировано автоматически, номер обращения указан в теме.",
        "Ваш интернет-магазин. Пн–Пт 9:00–21:00, Сб–Вс 10:00–18:00.",
        "Условия обмена описаны на сайте в разделе «Покупателям».",
        "Реквизиты продавца и политика обработки персональных данных — на сайте.",
        "Сроки доставки ориентировочные и зависят от графика службы доставки.",
        "В переписке по заказу, пожалуйста, указывайте его номер.",
    ],
    "en": [
        "-------- Original message --------",
        "From: Web Shop <orders@shop.example>",
        "Subject: Your order {order} is confirmed",
        "",
        "Hello, your order {order} has been received and passed to our warehouse.",
        "Items: 1 pc., article 4607001, colour graphite, 12 months warranty.",
        "Delivery: courier to your door, between 10:00 and 14:00.",
        "Payment: card at checkout. An invoice is attached to your account.",
        "You can follow your order under My orders on our website at any time.",
        "To change the address or the delivery slot, reply to this e-mail",
        "or call us on 0800 000 000 (free from landlines and mobiles).",
        "Pickup points keep a parcel for 7 days after it arrives.",
        "This message was generated automatically; the reference is in the subject.",
        "Web Shop customer service, Mon-Fri 9:00-21:00, Sat-Sun 10:00-18:00.",
        "Returns and exchanges are described on our website under Help.",
        "Company details and our privacy notice are also on the website.",
        "Opening hours may differ on public holidays; see the website for details.",
        "Delivery times are estimates and depend on the carrier's schedule.",
        "Your order reference must be quoted in any correspondence about it.",
        "Prices include VAT where applicable; the receipt is sent separately.",
    ],
}
_QUOTE = {
    "ru": "Номер заказа: {order}. Телефон для связи: +7 900 {a:03d}-{b:02d}-{c:02d}.",
    "en": "Order number: {order}. Phone: +44 20 7946 {a:04d}.",
}


@dataclass(frozen=True)
class Sample:
    raw: bytes
    sender: str
    kind: str  # what the text was written as: thanks | complaint | official | unclassified
    language: str
    message_id: str


def sender_address(tag: str, i: int) -> str:
    """One distinct customer per message: the daemon acknowledges a sender once per day."""
    return f"c{tag}{i:06d}@customers.test"


def make_sample(
    i: int, tag: str = "", rng: random.Random | None = None, size: int = MESSAGE_SIZE
) -> Sample:
    """A plain-text customer mail of about `size` bytes (headers included), RU or EN.

    Kinds rotate thanks, complaint, official, unclassified; languages alternate by pairs, so
    every 8 messages cover every (kind, language) pair once.
    """
    rng = rng or random.Random(i)
    kind = KINDS[i % 4]
    lang = "ru" if (i // 4) % 2 == 0 else "en"
    text = _TEXT[(kind, lang)]
    name = rng.choice(_NAMES[lang])
    sender = sender_address(tag, i)
    mid = f"<bench.{tag}.{i}.{rng.getrandbits(40):x}@customers.test>"
    head = (
        f"From: {email.utils.formataddr((name, sender))}\r\n"
        f"To: Feedback <{FEEDBACK}>\r\n"
        f"Subject: {rng.choice(text['subject'])}\r\n"
        f"Date: {email.utils.format_datetime(datetime.now(UTC))}\r\n"
        f"Message-ID: {mid}\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "X-Mailer: Bench Mail Client 1.0\r\n\r\n"
    )
    greeting = "Здравствуйте!" if lang == "ru" else "Hello,"
    order = f"{rng.randrange(10**7, 10**8)}"
    sentences = list(text["body"])
    rng.shuffle(sentences)
    lines = [greeting, "", *sentences[: rng.randint(3, 5)]]
    sign = [
        "",
        _SIGN[lang],
        name,
        _QUOTE[lang].format(
            order=order, a=rng.randrange(1000), b=rng.randrange(100), c=rng.randrange(100)
        ),
        "",
    ]
    # The rest of a typical 2 KB mail: the quoted order confirmation it replies to.
    quote = [q.format(order=order) for q in _QUOTED[lang]]
    budget = size - len(head.encode())
    body = lines + sign
    for q in quote:
        if len("\r\n".join([*body, "> " + q]).encode()) + 2 > budget:
            break
        body.append("> " + q)
    lines, sign = body, []
    raw = (head + "\r\n".join(lines + sign) + "\r\n").encode("utf-8")
    return Sample(raw, sender, kind, lang, mid)


def make_samples(n: int, tag: str = "", seed: int = 8) -> list[Sample]:
    rng = random.Random(seed)
    return [make_sample(i, tag, rng) for i in range(n)]


# -- loading a mailbox --------------------------------------------------------------------------


def lmtp_load(
    lab: Any, recipient: str, raws: Iterable[bytes], sender: str = "loader@example.test"
) -> int:
    """Deliver many messages into one mailbox over ONE LMTP session (one transaction each).

    `lab.deliver` opens an LMTP connection per message; reusing the session is ~2x faster."""
    n = 0
    lmtp = smtplib.LMTP(str(lab.root / "run" / "lmtp"), timeout=60)
    try:
        for raw in raws:
            lmtp.sendmail(sender, [recipient], raw)
            n += 1
    finally:
        with contextlib.suppress(Exception):  # the delivery's outcome is what counts
            lmtp.quit()
    return n


def imap_append_load(lab: Any, user: str, raws: Iterable[bytes]) -> int:
    """APPEND many messages to a user's INBOX over one IMAP session (INTERNALDATE = now)."""
    import imaplib

    box = lab.mailbox(user)
    n = 0
    try:
        for raw in raws:
            typ, data = box.client.append("INBOX", None, None, raw)
            if typ != "OK":
                raise RuntimeError(f"APPEND failed: {data!r}")
            n += 1
    finally:
        with contextlib.suppress(imaplib.IMAP4.error):
            box.logout()
    return n


def inbox_count(lab: Any, user: str, folder: str = "INBOX") -> int:
    box = lab.mailbox(user)
    try:
        st = box.folder.status(folder, ["MESSAGES"])
        return int(st["MESSAGES"])
    finally:
        box.logout()


def wait_until(pred: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return pred()


# -- statistics and tables ----------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile: the smallest value with at least p % of the values <= it."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    return ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2


def spread(values: Sequence[float], fmt: str = "") -> str:
    """'median (min–max)' for repeated measurements, so the noise is visible."""

    def f(x: float) -> str:
        if fmt:
            return format(x, fmt)
        return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"

    if len(values) == 1:
        return f(values[0])
    return f"{f(median(values))} ({f(min(values))}–{f(max(values))})"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], title: str = "") -> str:
    """A Markdown table (also readable in a terminal); numbers are formatted by the caller."""
    rows = [[str(c) for c in r] for r in rows]
    widths = [
        max(len(str(h)), *(len(r[i]) for r in rows)) if rows else len(str(h))
        for i, h in enumerate(headers)
    ]
    out = [f"\n{title}"] if title else []
    out.append(
        "| " + " | ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    )
    out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        out.append(
            "| "
            + " | ".join(
                c.rjust(w) if _numeric(c) else c.ljust(w) for c, w in zip(r, widths, strict=True)
            )
            + " |"
        )
    return "\n".join(out)


def _numeric(cell: str) -> bool:
    return bool(cell) and (cell[0].isdigit() or cell[0] in "-+.") and not cell[0:2].isalpha()


# -- memory -------------------------------------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb(pid: int | None = None) -> float:
    """Current resident set size of a process (default: this one), from /proc, in MB."""
    with open(f"/proc/{pid or 'self'}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class ChildResult:
    returncode: int
    seconds: float
    peak_rss_mb: float  # the child's own peak: VmHWM sampled while it runs (see run_child)
    stdout: str
    stderr: str
    wait4_maxrss_mb: float = 0.0  # wait4()'s ru_maxrss: includes the bench process's RSS
    cpu_s: float = 0.0  # the child's user + system CPU seconds (all its threads)


def _vm_hwm_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_child(
    argv: Sequence[str],
    env: dict[str, str] | None = None,
    timeout: float = 1800,
    cwd: str | Path = REPO,
) -> ChildResult:
    """Run a process to its end and report its wall time and its own peak RSS.

    Not wait4()'s ru_maxrss: Linux carries the parent's RSS at fork/exec into the child's
    maxrss, so a bench process that had built a large store reported its own size as the
    child's peak. VmHWM (per address space, fresh at exec) is sampled every 10 ms instead."""
    hwm = 0.0
    out_path = Path(f"/tmp/feedbackd-bench-{os.getpid()}-{time.monotonic_ns()}")
    with open(f"{out_path}.out", "wb") as out, open(f"{out_path}.err", "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(argv), env=env, cwd=str(cwd), stdout=out, stderr=err)
        deadline = time.monotonic() + timeout
        while True:
            hwm = max(hwm, _vm_hwm_mb(proc.pid))
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.01)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    text_out = Path(f"{out_path}.out").read_text(errors="replace")
    text_err = Path(f"{out_path}.err").read_text(errors="replace")
    for suffix in (".out", ".err"):
        Path(f"{out_path}{suffix}").unlink(missing_ok=True)
    return ChildResult(
        proc.returncode,
        seconds,
        hwm or usage.ru_maxrss / 1024,
        text_out,
        text_err,
        usage.ru_maxrss / 1024,
        usage.ru_utime + usage.ru_stime,
    )


def daemon_env(lab: Any, db: str | Path, address: str = FEEDBACK, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDBACKD_")}
    env.update(lab.env(address, db))
    env["FEEDBACKD_LOG_LEVEL"] = extra.pop("log_level", "WARNING")
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


def daemon_argv(*args: str) -> list[str]:
    """`feedbackd ...` as a real process (`python -m daemon` is the same command)."""
    return [sys.executable, "-m", "daemon", *args]


def machine() -> str:
    cpu = "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores ({cpu}), Python {sys.version.split()[0]}"


def start_lab() -> Any:
    import logging

    from daemon.lab import MailLab

    logging.getLogger("mail.log").setLevel(logging.ERROR)  # aiosmtpd's per-AUTH deprecation

    lab = MailLab()
    lab.start()
    return lab


def fmt_rate(x: float) -> str:
    return f"{x:,.0f}"
