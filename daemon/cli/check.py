"""`feedbackd check` and `feedbackd classify`: what an admin runs before and after a deploy.

`check` is `nginx -t` for feedbackd: the settings (every FEEDBACKD_* variable, read by the
daemon's own reader), the rules file, every template (the digest's words too, see
check_digest) and every example, all problems at once
with file:line, exit 0 only when all is well and 78 (EX_CONFIG) otherwise. It does not connect
to the servers: `feedbackd doctor` does.
`classify` runs the very `classify` the daemon runs on saved .eml files and says why.
A live configuration whose owners still have placeholder addresses (`@example.…`, as
`feedbackd init` writes them) passes with a warning per owner: mail to them goes nowhere.
"""

from __future__ import annotations

import json
import sys
import traceback
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from daemon.adapters.config import build_rulebook, load_rulebook, read_template_sources
from daemon.adapters.packaged import is_packaged_rules, is_placeholder
from daemon.adapters.settings import Settings, SettingsCheck, load_settings
from daemon.cli.check_digest import check_digest_words
from daemon.core.cases import open_case
from daemon.core.learning import Model, consult, fallback
from daemon.core.mail.compose import Templates
from daemon.core.mail.message import parse
from daemon.core.mail.policy import SenderHistory, should_acknowledge
from daemon.core.mail.staff import NoticeDesk, base_context
from daemon.core.rules import LANGUAGES, UNCLASSIFIED, RuleBook, classify, run_examples
from daemon.errors import EX_CONFIG, BadMessage, ConfigError, Problem
from daemon.service.learning import learned_model

#: The variables of an acknowledgment when the rules themselves do not load (their problems are
#: reported first); with a rule book, `sample_context` asks the daemon's own `base_context`.
SAMPLE_CONTEXT = {
    "case_id": "FB-2024-000123",
    "category": "complaint",
    "subject": "Order 5521",
    "customer_name": "Анна Иванова",
    "customer_email": "anna@example.org",
    "owner_name": "Customer Support Lead",
    "due_date": "2024-03-15 18:00",
    "received_date": "2024-03-13 10:15",
    "center_name": "Feedback Center",
    "feedback_address": "feedback@example.test",
}


def sample_context(book: RuleBook | None, templates: Templates, lang: str) -> dict[str, Any]:
    """What the daemon gives an acknowledgment template, for a sample case (same builder)."""
    if book is None or not book.categories:
        return dict(SAMPLE_CONTEXT)
    category = "complaint" if "complaint" in book.categories else next(iter(book.categories))
    received = datetime(2024, 3, 13, 10, 15, tzinfo=UTC)
    case = open_case(
        "FB-2024-000123",
        category=category,
        owner=book.categories[category].owner or book.center,
        received=received,
        due=received + timedelta(days=2),
        sender="anna@example.org",
        sender_name="Анна Иванова",
        subject="Order 5521",
        message_id="<sample@example.org>",
        language=lang,
        rule="sample",
    )
    desk = NoticeDesk(templates, book, "feedback@example.test", secret=b"sample")
    return base_context(desk, case, lang)


#: Customer templates no rule names, with a built-in text when the folder lacks them.
OPTIONAL_TEMPLATES = ("ack_corrected",)


def check_templates(
    templates_dir: str | Path,
    refs: list[tuple[str, int]],
    rules_path: str,
    book: RuleBook | None = None,
) -> list[Problem]:
    """Every referenced template exists in each language, compiles, and renders.

    The templates are built by the daemon's own `Templates` (same sources, same sandbox,
    StrictUndefined, trailing newlines kept), so what passes here is what the daemon renders.
    """
    folder = Path(templates_dir)
    if not folder.is_dir():
        return [
            Problem(
                str(folder),
                None,
                "templates folder not found; pass --templates DIR or set FEEDBACKD_TEMPLATES",
            )
        ]
    templates = Templates(read_template_sources(folder), str(folder), refuse_broken=False)
    problems = list(templates.broken.values())  # syntax of every template, used or not
    seen: set[str] = set()
    for name, line in refs:
        for lang in LANGUAGES:
            file = f"{name}.{lang}.j2"
            if file in seen:
                continue
            seen.add(file)
            if file not in templates.sources:
                problems.append(
                    Problem(
                        rules_path,
                        line,
                        f"template '{name}' needs {folder / file}; create it or fix the name",
                    )
                )
                continue
            if file not in templates.broken:
                problems += _render_problems(templates, file, sample_context(book, templates, lang))
    for name in OPTIONAL_TEMPLATES:  # not named in rules.yaml; rendered when the folder has it
        for lang in LANGUAGES:
            file = f"{name}.{lang}.j2"
            if file in templates.sources and file not in templates.broken and file not in seen:
                problems += _render_problems(templates, file, sample_context(book, templates, lang))
    return problems


def _render_problems(templates: Templates, file: str, ctx: dict[str, Any]) -> list[Problem]:
    """What goes wrong rendering `file` with the sample variables, at its file and line."""
    from jinja2 import TemplateError, TemplateNotFound  # Templates has imported it already

    try:
        text = templates.env.get_template(file).render(**ctx)
    except TemplateNotFound as exc:
        where, at = _template_frame(exc, templates.where(file))
        return [
            Problem(
                where,
                at,
                f"template includes '{exc.name}', which is not a template: the daemon reads "
                f"only the *.j2 files of {templates.label}",
            )
        ]
    except TemplateError as exc:
        where, at = _template_frame(exc, templates.where(file))
        return [
            Problem(
                where,
                at,
                f"template cannot render: {exc}; use only these variables: {', '.join(ctx)}",
            )
        ]
    head, sep, _ = text.lstrip("\n").partition("\n\n")
    if not head.startswith("Subject: ") or "\n" in head or not sep:
        return [
            Problem(
                templates.where(file),
                1,
                "the rendered template must start with 'Subject: …', then an empty line, "
                "then the body",
            )
        ]
    return []


def _template_frame(exc: BaseException, default: str) -> tuple[str, int | None]:
    """The template file and line a render error happened at (Jinja keeps them in the tb)."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith(".j2"):
            return frame.filename, frame.lineno
    return default, None


def check_command(
    rules_path: str,
    templates_dir: str,
    out: TextIO = sys.stdout,
    settings: SettingsCheck | None = None,
) -> int:
    """Validate settings (when given), rules, templates and examples; print every problem and
    warning; 0 if clean, else 78."""
    built = build_rulebook(rules_path)
    problems = list(settings.problems) if settings is not None else []
    problems += built.report.problems
    problems += check_templates(templates_dir, built.templates, rules_path, built.book)
    digest_problems, digest_warnings = check_digest_words(templates_dir, built.book, rules_path)
    problems += digest_problems
    examples = 0
    if built.book is not None:
        examples = len(built.book.examples)
        problems += run_examples(built.book)
    order = {"settings": 0, rules_path: 1}
    for p in sorted(problems, key=lambda p: (order.get(p.file, 2), p.file, p.line or 0)):
        print(str(p), file=out)
    warnings = [*digest_warnings, *(settings.warnings if settings is not None else [])]
    if problems:
        for warning in warnings:
            print(warning, file=out)
        print(
            f"{len(problems)} problem(s) found; nothing was changed. Fix them and run "
            f"'feedbackd check' again.",
            file=out,
        )
        return EX_CONFIG
    book = built.book
    assert book is not None
    for warning in [*placeholder_warnings(book, rules_path), *warnings]:
        print(warning, file=out)
    if settings is not None and settings.settings is not None:
        print(f"settings: OK — {settings_line(settings.settings)}", file=out)
    print(
        f"{rules_path}: OK — {len(book.rules)} rules, {len(book.categories)} categories, "
        f"{len(book.owners)} owners, {examples} examples passed; templates in "
        f"{templates_dir} OK",
        file=out,
    )
    return 0


def settings_line(settings: Settings) -> str:
    """What the settings say in one line: where each server is, how it is reached, as whom."""
    i, o = settings.imap, settings.smtp
    return (
        f"IMAP {i.user} at {i.host}:{i.port} ({i.tls}), SMTP {o.user} at {o.host}:{o.port} "
        f"({o.tls}), feedback address {settings.address}"
    )


def placeholder_warnings(book: RuleBook, rules_path: str) -> list[str]:
    """One line per owner left at a placeholder address, at its line; none for the packaged
    defaults themselves (those are examples), a note instead."""
    if is_packaged_rules(rules_path):
        return [
            f"{rules_path}: note: these are the packaged defaults; write your own "
            "configuration with `feedbackd init /etc/feedbackd`"
        ]
    try:
        lines = Path(rules_path).read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    warnings = []
    for owner in book.owners.values():
        if not is_placeholder(owner.email):
            continue
        at = next((n for n, text in enumerate(lines, 1) if owner.email in text), None)
        where = f"{rules_path}:{at}" if at else rules_path
        warnings.append(
            f"{where}: warning: owner {owner.key} still has the placeholder address "
            f"{owner.email}; put the real one there, mail to it reaches nobody"
        )
    return warnings


def learned() -> Model:
    """The model learned beside the daemon's store (empty when its place is not configured)."""
    try:
        db = load_settings(need_servers=False).db
    except ConfigError:
        return Model()
    return learned_model(db)


def classify_command(
    files: list[str], rules_path: str, fmt: str = "text", out: TextIO = sys.stdout
) -> int:
    """Classify saved messages exactly as the daemon would; 0, or 1 if a file was unusable."""
    book = load_rulebook(rules_path)  # ConfigError reaches the CLI: one line per problem, 78
    model = learned()
    decide = fallback(model) if model.examples else classify
    status = 0
    for name in files:
        try:
            message = parse(Path(name).read_bytes())
            decision = decide(message, book)
        except (OSError, BadMessage) as exc:
            status = 1
            error = getattr(exc, "strerror", None) or str(exc)
            if fmt == "json":
                print(json.dumps({"file": name, "error": error}, ensure_ascii=False), file=out)
            else:
                print(f"{name}: cannot read: {error}", file=out)
            continue
        reasons = [
            {"field": r.field, "matcher": r.matcher, "matched": r.matched} for r in decision.reasons
        ]
        # The RFC 3834 half of the decision, as for a first message from this sender.
        own = frozenset(
            {*(o.email.lower() for o in book.owners.values()), *book.policy.own_addresses}
        )
        verdict = should_acknowledge(message, SenderHistory(), datetime.now(UTC), book.policy, own)
        ack = {
            "acknowledge": verdict.acknowledge,
            "kind": verdict.kind,
            "reasons": list(verdict.reasons),
            "reply_to": verdict.reply_to,
        }
        if fmt == "json":
            print(
                json.dumps(
                    {
                        "file": name,
                        "category": decision.category,
                        "rule": decision.rule,
                        "reasons": reasons,
                        "acknowledgment": ack,
                    },
                    ensure_ascii=False,
                ),
                file=out,
            )
            continue
        why = "; ".join(
            f"learned: {r['matched']}"
            if r["matcher"] == "learned"
            else f"{r['field']} {r['matcher']}: {r['matched']!r}"
            for r in reasons
        )
        print(
            f"{name}: {decision.category} (rule {decision.rule}, owner {decision.owner})"
            + (f" — {why}" if why else ""),
            file=out,
        )
        answer = (
            f"acknowledge, to {verdict.reply_to}"
            if verdict.acknowledge
            else f"no acknowledgment ({verdict.kind}: {'; '.join(verdict.reasons)})"
        )
        print(f"    {answer}", file=out)
        said = consult(model, message, book) if model.examples else None
        if decision.category == UNCLASSIFIED and said is not None:
            guess = said.prediction
            why = said.why_not or "it says: neither"
            print(f"    learned model: {guess.category} {guess.confidence:.2f}; {why}", file=out)
    return status
