"""The outbox's pace: how many recipients the submission server has had from us lately, and
whether it has asked us to wait.

The counting is core/sendrate's (pure, over aware times); this keeps the state between cycles
and owns the clock. What was handed over is not kept anywhere new: the outbox records already
say it durably (a sent mail's `sent_at`, a mail maybe sent's `attempted_at`, and its
recipients), so after a restart the windows are rebuilt from them (`from_store`) and the day's
count survives without a second record that could disagree with the first. The archive keeps
sent mail in the live store far longer than a day, so the longest window is always there.
A pause or slowdown the server asked for is not kept: after a restart the first refusal
brings it back, and nothing is lost by asking once.

Only the cycle's thread uses a Pacer (the outbox's `begin` and `finish` run there).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from daemon.adapters.storage.store import Store
from daemon.core.records import OutMail, OutState
from daemon.core.sendrate import Rate, Use, fits, opens_at, slowed

#: How long the rate stays halved after the server throttled us.
SLOW_FOR = timedelta(minutes=10)


class Pacer:
    def __init__(
        self,
        rates: Sequence[Rate] = (),
        clock: Callable[[], datetime] | None = None,
        uses: Sequence[tuple[str, Use]] = (),
    ):
        self.rates = tuple(rates)
        self.clock = clock
        self._uses: dict[str, Use] = dict(uses)  # by Message-ID: a mail counts once per try
        self.paused_until: datetime | None = None
        self.slow_until: datetime | None = None
        self.throttles = 0  # throttled batches in a row: the pause doubles with each

    @classmethod
    def from_store(
        cls, store: Store, rates: Sequence[Rate], clock: Callable[[], datetime] | None = None
    ) -> Pacer:
        """The windows as the outbox records left them (module docstring)."""
        if not rates:
            return cls((), clock)
        since = clock() - max(r.per for r in rates) if clock is not None else None
        uses = []
        for mail in store.outbox(OutState.SENT, OutState.SENDING):
            at = mail.sent_at if mail.state == OutState.SENT else mail.attempted_at
            if at is not None and (since is None or at > since):
                uses.append((mail.id, Use(at, len(mail.recipients))))
        return cls(rates, clock, uses)

    def now(self, fallback: datetime) -> datetime:
        """The pacer's clock (the real one in the service), else the cycle's moment."""
        return self.clock() if self.clock is not None else fallback

    def limits(self, now: datetime) -> tuple[Rate, ...]:
        slow = self.slow_until is not None and now < self.slow_until
        return slowed(self.rates) if slow else self.rates

    def _recent(self, now: datetime) -> list[Use]:
        longest = max((r.per for r in self.rates), default=timedelta(0))
        for key in [k for k, u in self._uses.items() if u.at <= now - longest]:
            del self._uses[key]
        return list(self._uses.values())

    def admit(self, mail: OutMail, now: datetime) -> datetime | None:
        """Take `mail`'s recipients from the allowance, or say when it may go (not now; to the
        whole second after, as the outbox keeps times, so the wake-up is never too early)."""
        if self.paused_until is not None and now < self.paused_until:
            return _whole_second_after(self.paused_until)
        need = len(mail.recipients)
        if self.rates:
            limits, uses = self.limits(now), self._recent(now)
            if not fits(limits, uses, now, need):
                return _whole_second_after(opens_at(limits, uses, now, need))
            self._uses[mail.id] = Use(now, need)
        return None

    def release(self, mail: OutMail) -> None:
        """The server did not take it (refused, throttled, unreachable): it does not count."""
        self._uses.pop(mail.id, None)

    def throttled(self, now: datetime, pause: Callable[[int], timedelta]) -> datetime:
        """The server asked us to slow down: pause (longer each time in a row), then keep to
        half the rate for SLOW_FOR. Returns when sending may resume."""
        self.throttles += 1
        self.paused_until = now + pause(self.throttles)
        self.slow_until = now + SLOW_FOR
        return _whole_second_after(self.paused_until)

    def went_well(self) -> None:
        self.throttles = 0


def _whole_second_after(at: datetime) -> datetime:
    return at if at.microsecond == 0 else at.replace(microsecond=0) + timedelta(seconds=1)
