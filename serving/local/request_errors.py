"""Per-request errors through PyTriton: one bad request fails alone, with its own status.

PyTriton (0.7) answers a whole dynamic batch with one error when the inference callable
raises, and that error is Triton's INTERNAL carrying a Python traceback. Triton itself
can do better: its Python backend takes one response per request, and a response may be an
error with a code (``TritonError.INVALID_ARG`` is gRPC INVALID_ARGUMENT, HTTP 400).

So the server answers per request: a rejected request's response is the one tensor
``ERROR_OUTPUT`` holding ``[code, message]``, and the model file that PyTriton runs inside
Triton is wrapped (:func:`install_request_errors`) so that such a response becomes a Triton
error response, while every other response goes through PyTriton's own code unchanged.

The wrapped model also refuses, inside Triton and before anything reaches the encoder, a
request whose client has gone (Triton marks it cancelled: gRPC clients that time out or
disconnect) with CANCELLED, and a request holding more than ``max_request_bytes`` of text
with INVALID_ARG; the other requests of its batch go on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ese.format.errors import UserError
from ese.serving.triton.model_configs import TEXT_INPUT

ERROR_OUTPUT = "ese_request_error"
INVALID_ARG = "INVALID_ARG"
INTERNAL = "INTERNAL"
PYTRITON_MODEL = "pytriton_model.py"
_HOOK = "def _wrap_response("

# model.py inside Triton's model repository: PyTriton's own model.py, renamed, with its
# response wrapper extended by one case and its execute by a first look at each request.
# Runs in Triton's Python-backend stub; {{max_request_bytes}} is filled in at install.
_WRAPPER = f'''"""PyTriton's proxy model ({PYTRITON_MODEL}) with per-request errors (ese-serve)."""

import triton_python_backend_utils as pb_utils  # type: ignore

# Relative: the renamed file sits beside this model.py in Triton's model directory.
from . import pytriton_model as _pytriton

_wrap = _pytriton._wrap_response


def _wrap_response(response, requested_outputs_names, model_outputs_dict):
    data = response.data
    if data is not None and {ERROR_OUTPUT!r} in data:
        code, message = (bytes(v).decode("utf-8", "replace") for v in data[{ERROR_OUTPUT!r}])
        kind = getattr(pb_utils.TritonError, code, pb_utils.TritonError.INTERNAL)
        return pb_utils.InferenceResponse(error=pb_utils.TritonError(message, kind))
    return _wrap(response, requested_outputs_names, model_outputs_dict)


_pytriton._wrap_response = _wrap_response

MAX_REQUEST_BYTES = {{max_request_bytes}}


def _refusal(request):
    """The error response of a request not worth encoding; None for the others."""
    if request.is_cancelled():
        return pb_utils.InferenceResponse(
            error=pb_utils.TritonError(
                "the client left before its request was encoded", pb_utils.TritonError.CANCELLED
            )
        )
    tensor = pb_utils.get_input_tensor_by_name(request, {TEXT_INPUT!r})
    size = 0 if tensor is None else sum(len(item) for item in tensor.as_numpy().reshape(-1))
    if size > MAX_REQUEST_BYTES:
        message = (
            f"the request holds {{{{size}}}} bytes of text, more than this server's limit "
            f"of {{{{MAX_REQUEST_BYTES}}}} (ese-serve --max-request-bytes); send fewer or "
            "shorter texts"
        )
        return pb_utils.InferenceResponse(
            error=pb_utils.TritonError(message, pb_utils.TritonError.INVALID_ARG)
        )
    return None


class TritonPythonModel(_pytriton.TritonPythonModel):
    def execute(self, requests):
        refusals = [_refusal(request) for request in requests]
        kept = [request for request, refusal in zip(requests, refusals) if refusal is None]
        answers = iter(super().execute(kept) if kept else ())
        return [next(answers) if refusal is None else refusal for refusal in refusals]
'''


def error_response(code: str, message: str) -> dict[str, np.ndarray]:
    """The response of a request that fails alone: Triton error ``code`` with ``message``."""
    return {ERROR_OUTPUT: np.array([code.encode(), message.encode()], dtype=object)}


def install_request_errors(model_version_dir: Path, max_request_bytes: int) -> None:
    """Wrap PyTriton's model.py in ``model_version_dir`` (after bind, before the server runs);
    the wrapped model refuses requests above ``max_request_bytes`` of text."""
    model = Path(model_version_dir) / "model.py"
    try:
        source = model.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(
            f"PyTriton did not write {model} ({exc}); check the installed nvidia-pytriton"
        ) from exc
    if _HOOK not in source:
        raise UserError(
            f"this nvidia-pytriton's {model.name} has no {_HOOK.strip('(')}: per-request errors "
            "cannot be installed; install the nvidia-pytriton version pyproject.toml names"
        )
    model.rename(model.with_name(PYTRITON_MODEL))
    model.write_text(_WRAPPER.format(max_request_bytes=int(max_request_bytes)), encoding="utf-8")
