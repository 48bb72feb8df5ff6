"""Survey answers: open the survey a signed link points at, and record a deliberate answer.

Opening (GET, HEAD) never records anything: mail security scanners fetch every link of an email.
Only the page's confirm button (a POST) records, and a repeated identical POST records once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from functions.responses.ports import Ports
from functions.responses.store import Answer, AnswerKind
from functions.shared import links, tokens
from functions.shared.errors import NotFound
from functions.shared.i18n import Translator, choose_locale
from functions.shared.templating import direction
from functions.stores.models import Store

MAX_COMMENT = 2000


class InvalidAnswer(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key  # catalog key of the message to show


@dataclass
class Survey:
    token: tokens.Token
    store: Store
    outreach: dict[str, Any]
    product: dict[str, Any] | None
    current: dict[str, Any] | None
    language: str
    t: Translator

    @property
    def kind(self) -> str:
        """``AnswerKind.REVIEW`` or ``AnswerKind.NPS``: what the outreach asked for."""
        return str(self.outreach["kind"])

    @property
    def scale(self) -> list[int]:
        return list(range(0, 11)) if self.kind == AnswerKind.NPS else [1, 2, 3, 4, 5]

    @property
    def selected(self) -> int | None:
        if self.current is not None:
            return int(self.current["score"])
        score = self.token.claims.get("s")
        return int(score) if isinstance(score, int) and score in self.scale else None

    def context(self) -> dict[str, Any]:
        store_name = self.store.config.name
        product_name = (self.product or {}).get("name") or (self.product or {}).get("product_id", "")
        question = (
            self.t("nps_page_question", store=store_name)
            if self.kind == AnswerKind.NPS
            else self.t("review_question", product=product_name)
        )
        return {
            "t": self.t,
            "locale": self.language,
            "dir": direction(self.language),
            "title": self.t("survey_title", store=store_name),
            "store_name": store_name,
            "accent": self.store.config.emails.accent_color,
            "question": question,
            "kind": self.kind,
            "scale": self.scale,
            "selected": self.selected,
            "comment": (self.current or {}).get("comment", ""),
            "answered": self.current is not None,
        }


def _product(outreach: dict[str, Any], product_id: Any) -> dict[str, Any] | None:
    """The reviewed product a link names (``None`` for NPS); one not in the request is ``NotFound``."""
    if outreach["kind"] != AnswerKind.REVIEW:
        return None
    product = next((p for p in outreach.get("products", []) if p.get("product_id") == product_id), None)
    if product is None:
        raise NotFound("the product this link belongs to is not part of the request")
    return dict(product)


def open_survey(token_text: str, ports: Ports) -> Survey:
    """The survey a link opens (recording nothing); a bad link raises ``TokenError`` or ``NotFound``."""
    token = links.SURVEY.open(ports.signing_key, token_text)
    claims = token.claims
    store = ports.stores.get(token.store_id, cached=True)
    outreach = ports.outreach.get(f"{store.id}#{claims.get('r')}", str(claims.get("o")))
    if outreach is None:
        raise NotFound("the outreach this link belongs to does not exist")
    product = _product(outreach, claims.get("p"))
    sk = f"{outreach.get('reminder_of') or outreach['outreach_id']}#{claims.get('p') or 'nps'}"
    current = ports.responses.get(store.id, str(outreach["order_id"]), sk)
    language = choose_locale((outreach.get("customer") or {}).get("locale"), store.config.default_locale)
    return Survey(
        token, store, outreach, product, current, language, Translator(language, store.config.emails.texts)
    )


def parse_answer(survey: Survey, form: dict[str, list[str]]) -> tuple[int, str]:
    raw_score = (form.get("score") or [""])[0].strip()
    if not raw_score.isdigit() or int(raw_score) not in survey.scale:
        raise InvalidAnswer("score_missing")
    comment = (form.get("comment") or [""])[0].replace("\r\n", "\n").strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidAnswer("comment_too_long")
    return int(raw_score), comment


def record(survey: Survey, score: int, comment: str, ports: Ports) -> bool:
    """Save the answer (last answer wins, history kept) and mark the request answered."""
    outreach = survey.outreach
    original = str(outreach.get("reminder_of") or outreach["outreach_id"])
    answer = Answer(
        store_id=survey.store.id,
        order_id=str(outreach["order_id"]),
        outreach_id=original,
        product_id=str(survey.product["product_id"]) if survey.product else None,
        kind=survey.kind,
        score=score,
        comment=comment,
        locale=survey.language,
        token_id=survey.token.token_id,
    )
    now = ports.clock.now()
    changed = ports.responses.record(answer, now, keep=survey.store.config.retention.answers)
    ports.outreach.mark_answered(answer.pk, original, now)
    return changed
