"""PyTorch per-depth modules (fp32 / fp16 / bf16, CPU or CUDA): depth scaling where ONNX
Runtime has no GPU provider.

Each depth is the source model's embeddings and first ``depth`` layers with its pooling and
normalisation (the exporter's own module, without the projection: one small matmul), loaded
with SDPA attention in the requested dtype. Every run ends with ``torch.cuda.synchronize()``.
Memory: the cut module's weight bytes plus the working memory of the run (CUDA: the peak the
caching allocator handed out beyond what was allocated before; CPU: the resident-set growth),
both measured from after one unmeasured pass at the shape, so that the process's one-time costs
do not land on the first depth profiled.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from ese.format import Pooling
from ese.format.errors import UserError
from ese.runtime.choice.measure import synthetic_batch
from ese.runtime.memory import release_freed_memory, resident_mb

BACKEND = "torch"
_MB = 1 << 20


def require_torch() -> Any:
    try:
        import torch
    except ImportError:
        raise UserError(
            "--backend torch needs PyTorch: pip install 'ese-toolchain[export]' "
            "(or use a machine where torch is installed)"
        ) from None
    return torch


class TorchShape:
    """One cut module at one shape: ``run`` is one synchronised forward pass."""

    def __init__(self, backend: TorchBackend, batch_size: int, seq_len: int) -> None:
        torch = backend.torch
        self.backend = backend
        ids, mask, types = synthetic_batch(batch_size, seq_len, backend.vocab_size)
        dev = backend.device
        self.inputs = (
            torch.from_numpy(ids).to(dev),
            torch.from_numpy(mask).to(dev),
            torch.from_numpy(types).to(dev),
        )
        # One pass before the baseline: what the first forward of the process keeps for good
        # (kernels, thread pools, library workspaces) is no shape's working memory.
        self.run()
        release_freed_memory()
        if backend.cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self._base = torch.cuda.memory_allocated()
        else:
            self._base = resident_mb()

    def run(self) -> None:
        torch = self.backend.torch
        with torch.inference_mode():
            self.backend.module(*self.inputs)
        if self.backend.cuda:
            torch.cuda.synchronize()

    def memory_mb(self) -> float:
        torch = self.backend.torch
        if self.backend.cuda:
            working = (torch.cuda.max_memory_allocated() - self._base) / _MB
        else:
            working = resident_mb() - self._base
        return self.backend.weight_mb + max(0.0, working)

    def close(self) -> None:
        del self.inputs
        release_freed_memory()
        if self.backend.cuda:
            self.backend.torch.cuda.empty_cache()


class TorchBackend:
    """The source model in PyTorch, cut to each requested depth in turn (weights shared)."""

    backend = BACKEND

    def __init__(
        self,
        model_path: Path,
        *,
        precision: str,
        device: str,
        pooling: Pooling,
        normalize: bool,
        uses_token_type_ids: bool,
        threads: int | None = None,
    ) -> None:
        torch = require_torch()
        from ese.exporter.source.load import read_model_dir

        self.torch = torch
        self.precision = precision
        dtypes = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
        if precision not in dtypes:
            raise UserError(f"--precision {precision} is not one of {', '.join(dtypes)}")
        self.cuda = device.startswith("cuda")
        if self.cuda and not torch.cuda.is_available():
            raise UserError(
                f"--device {device}: this PyTorch {torch.__version__} sees no CUDA device; "
                "use --device cpu or a machine with a GPU"
            )
        if not self.cuda and precision == "fp16":
            raise UserError("fp16 on the CPU is not a serving configuration: use fp32 or bf16")
        if threads and not self.cuda:
            torch.set_num_threads(threads)
        self.device = torch.device(device)
        self.model_dir = read_model_dir(model_path, pooling)
        self.pooling = pooling
        self.normalize = normalize
        self.uses_token_type_ids = uses_token_type_ids
        from transformers import AutoModel

        self.encoder = (
            AutoModel.from_pretrained(
                self.model_dir.transformer_dir,
                use_safetensors=True,
                attn_implementation="sdpa",
                dtype=dtypes[precision],
            )
            .to(self.device)
            .eval()
        )
        self.vocab_size = int(self.encoder.config.vocab_size)
        self.device_name = torch.cuda.get_device_name(self.device) if self.cuda else "cpu"
        self._depth: int | None = None
        self._cut = contextlib.ExitStack()
        self.module: Any = None
        self.weight_mb = 0.0

    def _use_depth(self, depth: int) -> None:
        if depth == self._depth:
            return
        from ese.exporter.graph.depth_cut import cut_to_depth
        from ese.exporter.graph.module import SentenceEmbeddingModule

        self._cut.close()
        self._cut = contextlib.ExitStack()
        encoder = self._cut.enter_context(
            cut_to_depth(self.encoder, self.model_dir.layer_path, depth)
        )
        self.module = SentenceEmbeddingModule(
            encoder, self.pooling, self.normalize, None, self.uses_token_type_ids
        ).eval()
        self.weight_mb = sum(p.numel() * p.element_size() for p in encoder.parameters()) / _MB
        self._depth = depth

    def open(self, depth: int, batch_size: int, seq_len: int) -> TorchShape:
        self._use_depth(depth)
        return TorchShape(self, batch_size, seq_len)

    def close(self) -> None:
        self._cut.close()
