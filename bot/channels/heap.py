"""The Rasa server's heap, frozen once the model is loaded (`rasa run` has no option for it).

The loaded server holds about 800 MB of Python objects (Rasa, TensorFlow's modules, the model).
Python's full garbage collection walks all of them: measured with a gc callback in the running
server, 35-250 ms each, a few times per few hundred questions, and the request it lands on waits.
None of those objects is ever freed.
``gc.freeze()`` moves every object alive at that moment into a permanent generation that later
collections skip, so they walk only what requests create: 3 ms each, measured the same way.

Rasa loads the model in a ``before_server_start`` listener; a blueprint's ``after_server_start``
listener runs after it. Each of our channels registers this, so it happens whichever channels
``credentials.yml`` enables; the first to run does it.
"""
from __future__ import annotations

import gc
import logging
from typing import Any

from sanic import Blueprint

logger = logging.getLogger(__name__)


async def freeze_loaded_heap(app: Any, loop: Any) -> None:  # noqa: ARG001 (Sanic listener signature)
    """Collect once, then freeze what is left: the loaded server. The first channel's listener does
    it; the others, a moment later, find the heap frozen and skip the collection (~0.2 s each)."""
    if gc.get_freeze_count():
        return
    gc.collect()
    gc.freeze()
    logger.debug("heap frozen: %d objects no longer walked by the garbage collector", gc.get_freeze_count())


def freeze_heap_after_start(blueprint: Blueprint) -> Blueprint:
    """Register ``freeze_loaded_heap`` on the channel's blueprint; returns the blueprint."""
    blueprint.listener("after_server_start")(freeze_loaded_heap)
    return blueprint
