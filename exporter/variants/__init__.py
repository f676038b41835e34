"""int8 / fp16 variant graphs of an export, each gated against its fp32 graph (``ese-variants``)."""
