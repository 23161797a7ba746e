"""What the gateway tells the rest of TaskHub, without importing it.

``tool_results_changed`` is sent when a tool's answers change outside its own
provider's schedule (an operator's fuel-price override): cached answers of the
calls ``where`` selects are out of date. Keyword arguments: ``tool`` (its name)
and ``where`` (a predicate on a call's normalised arguments). Monitoring
connects to it (``taskhub.monitoring.apps``) to poll the watched calls at once.
"""

from __future__ import annotations

from django.dispatch import Signal

tool_results_changed = Signal()
