"""Exceptions raised by the weightinit client."""
from __future__ import annotations

from typing import Any, Mapping, Optional


class UnsupportedModuleError(ValueError):
    """The tracer met something it cannot record exactly, so the service could not reproduce it bit for bit.

    ``op`` is the operation (``aten.bernoulli_.float``, ``torch.nn.init.orthogonal_``), ``path`` the modules whose
    code was running (``ResNet > Bottleneck > Conv2d``; the dotted path when the model is built), ``site`` the Python
    call site (``torchvision/models/resnet.py:207 in __init__``). Any of them may be None.
    """

    def __init__(self, message: str, *, op: Optional[str] = None, path: Optional[str] = None,
                 site: Optional[str] = None):
        self.reason = message
        self.op, self.path, self.site = op, path, site
        text = message
        if site:
            text += f", at {site}"
        if path:
            text += f" (in {path})"
        super().__init__(text)


class WeightInitError(RuntimeError):
    """The service answered with an error (``application/problem+json``, RFC 9457).

    ``status`` is the HTTP status, ``title``/``detail``/``pointer``/``type`` the problem fields
    (``pointer`` is the JSON pointer into the request body, e.g. ``/model/children/conv/kernel_size``),
    ``problem`` the whole problem document (or None when the body was not JSON), ``retry_after``
    the Retry-After header in seconds for 503 responses.
    """

    def __init__(self, status: Optional[int], title: Optional[str] = None, detail: Optional[str] = None,
                 pointer: Optional[str] = None, *, type: Optional[str] = None,
                 problem: Optional[Mapping[str, Any]] = None, retry_after: Optional[float] = None):
        self.status = status
        self.title = title
        self.detail = detail
        self.pointer = pointer
        self.type = type
        self.problem = dict(problem) if problem is not None else None
        self.retry_after = retry_after
        parts = [str(status) if status is not None else "error"]
        if title:
            parts.append(title)
        text = " ".join(parts)
        if detail:
            text += f": {detail}"
        if pointer:
            text += f" (at {pointer})"
        super().__init__(text)


class IncompleteResponseError(WeightInitError):
    """The checkpoint stream ended before Content-Length bytes arrived (or ran past it)."""
