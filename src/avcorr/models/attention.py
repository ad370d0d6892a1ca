"""The attention block of TalkNet used for cross-attention and fusion (docs/design.md §1).

out = LN1(src + MHA(query=tar, key=src, value=src)); out = LN2(out + FFN(out)), FFN 4× wide.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class AttentionBlock(nn.Module):
    """(B, T, d) source attended with queries from (B, T, d) target → (B, T, d)."""

    def __init__(self, d_model: int, heads: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, heads, dropout=dropout)  # sequence-first
        self.linear1 = nn.Linear(d_model, 4 * d_model)
        self.linear2 = nn.Linear(4 * d_model, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)

    def forward(self, src: torch.Tensor, tar: torch.Tensor) -> torch.Tensor:
        src_t, tar_t = src.transpose(0, 1), tar.transpose(0, 1)
        attended = self.self_attn(tar_t, src_t, src_t, need_weights=False)[0]
        out = self.norm1(src_t + self.dropout1(attended))
        out = self.norm2(out + self.dropout2(self.linear2(self.dropout(F.relu(self.linear1(out))))))
        return out.transpose(0, 1)
