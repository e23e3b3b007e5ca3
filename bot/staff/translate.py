"""Machine-translated drafts of an answer, for translators to review.

    python -m bot.staff draft-translations moving_in --from en

Every other language gets a ``status: draft`` answer (beside the approved one, where there is
one): drafts are never shown to residents until someone approves them. All or nothing: when
any translation fails (no internet connection, the service refuses), nothing is written.

The translator is googletrans (Google Translate's web endpoint). Tests inject a fake
(``Translator`` protocol) and never reach the network.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from typing import Dict, List, Optional, Protocol, Sequence, Tuple

from actions.content import ANSWER_LANGUAGES
from bot.staff.project import StaffError
from bot.staff.store import Result, Store, answer_state

logger = logging.getLogger(__name__)

# Our language codes -> the translator's. Easy Japanese has no machine translation: its draft is
# ordinary Japanese that the reviewer rewrites (docs/staff.md says so).
SERVICE_CODES = {"zh": "zh-cn", "ja-easy": "ja"}
BULLET = "• "


class TranslationUnavailable(StaffError):
    """The translation service could not be used: nothing was written."""


class Translator(Protocol):
    """Translates texts from ``src`` to ``dest`` (service language codes); raises on failure."""

    def translate(self, texts: Sequence[str], src: str, dest: str) -> List[str]:
        ...


class GoogleTranslator:
    """googletrans 4 (async) behind the synchronous ``Translator`` protocol."""

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout

    def translate(self, texts: Sequence[str], src: str, dest: str) -> List[str]:
        async def run() -> List[str]:
            from googletrans import Translator as Google

            # raise_exception: without it googletrans returns the source text on an HTTP error.
            async with Google(timeout=self.timeout, raise_exception=True) as google:
                out = []
                for text in texts:
                    result = await google.translate(text, dest=dest, src=src)
                    out.append(result.text)
                return out

        box: Dict[str, object] = {}

        def worker() -> None:   # a thread of its own: callers may be inside an event loop (aiohttp)
            try:
                box["value"] = asyncio.run(run())
            except BaseException as exc:
                box["error"] = exc

        thread = threading.Thread(target=worker, daemon=True)
        thread.start()
        thread.join(self.timeout * (len(texts) + 2))
        if thread.is_alive():
            raise TimeoutError("the translation service did not answer in time")
        if "error" in box:
            raise box["error"]  # type: ignore[misc]
        return box["value"]  # type: ignore[return-value]


def _describe(exc: BaseException) -> str:
    name = type(exc).__name__
    text = str(exc)
    network = ("ConnectError", "ConnectTimeout", "ReadTimeout", "NetworkError", "TimeoutError",
               "gaierror", "RemoteProtocolError", "ProxyError")
    if any(n in name for n in network) or "Name or service not known" in text or "Temporary failure" in text:
        return ("No internet connection: the translation service (Google Translate) cannot be reached "
                f"from this computer ({name}: {text}).")
    return f"The translation service failed ({name}: {text})."


def _split(text: str) -> List[Tuple[str, str]]:
    """Lines as (prefix, body), so bullets survive translation."""
    out = []
    for line in text.split("\n"):
        if line.startswith(BULLET):
            out.append((BULLET, line[len(BULLET):]))
        else:
            out.append(("", line))
    return out


def translate_answer(translator: Translator, title: str, text: str, src: str, dest: str) -> Tuple[str, str]:
    """(title, text) in ``dest``; bullets and line breaks kept."""
    lines = _split(text)
    bodies = [body for _, body in lines if body.strip()]
    got = translator.translate([title, *bodies], SERVICE_CODES.get(src, src), SERVICE_CODES.get(dest, dest))
    if len(got) != len(bodies) + 1 or any(not isinstance(g, str) or not g.strip() for g in got):
        raise ValueError("the translation service returned an empty or incomplete result")
    # googletrans hands back the source text unchanged when the service refuses a request.
    if dest != src and all(g.strip() == s.strip() for g, s in zip(got, [title, *bodies])):
        raise ValueError("the translation service returned the text untranslated")
    new_title, translated = got[0].strip(), iter(got[1:])
    out = []
    for prefix, body in lines:
        out.append(prefix + next(translated).strip() if body.strip() else prefix + body)
    return new_title, "\n".join(out)


def draft_translations(store: Store, topic: str, src: str = "en", langs: Optional[Sequence[str]] = None,
                       translator: Optional[Translator] = None) -> Result:
    """Writes machine-translated drafts of ``topic`` from ``src`` into ``langs`` (default: all others)."""
    content = store.content()
    if topic not in content.topics:
        raise StaffError(f"unknown topic {topic!r}")
    if content.topics[topic].retired:
        raise StaffError(f"topic {topic!r} is retired")
    if src not in ANSWER_LANGUAGES:
        raise StaffError(f"unknown language {src!r}")
    source = content.answers.get(src, {}).get(topic)
    if source is None or not source.text:
        raise StaffError(f"{topic} has no answer in {src} to translate from: write it first")
    targets = [lang for lang in (langs or ANSWER_LANGUAGES) if lang != src]
    unknown = [lang for lang in targets if lang not in ANSWER_LANGUAGES]
    if unknown:
        raise StaffError(f"unknown language(s): {', '.join(unknown)}")
    translator = translator or GoogleTranslator()
    drafts: Dict[str, Tuple[str, str]] = {}
    for lang in targets:   # translate everything first: any failure means nothing is written
        try:
            drafts[lang] = translate_answer(translator, source.title, source.text, src, lang)
        except Exception as exc:
            logger.warning("translation %s->%s failed: %r", src, lang, exc)
            raise TranslationUnavailable(f"{_describe(exc)} Nothing was written.") from None
    label = f"machine translation from {src}" + ("" if source.approved else " (draft)")
    result = store.write_drafts(topic, drafts, source=label)
    raw_states = {lang: answer_state(store_entry) for lang, store_entry in _entries(store, topic).items()}
    result.warnings.append("Drafts written for " + ", ".join(
        f"{lang} ({'beside the approved answer' if raw_states.get(lang) == 'approved+draft' else 'draft'})"
        for lang in drafts) + ". Review and approve each one; residents see none of them until then.")
    if "ja-easy" in drafts:
        result.warnings.append("ja-easy: the draft is ordinary Japanese; rewrite it in easy Japanese before approving.")
    return result


def _entries(store: Store, topic: str) -> Dict[str, dict]:
    from bot.staff.rules import raw_answers

    return {lang: entries[topic] for lang, entries in raw_answers(store.project.root).items() if topic in entries}
