"""PyTorch side of `npm run bench:finetune`: the fine-tuning step bench/finetune.ts
measures with Forja, on the same shapes and optimizer settings.

A plain GPT-2 (transformers is not installable here): learned positions,
pre-LayerNorm blocks, fused c_attn, gelu_new, tied LM head, random N(0, 0.02)
weights. LoRA is hand-written (PEFT is not installable here either): on each
c_attn, y = x W + b + (alpha / r) (x A^T) B^T with A kaiming-uniform and B zero,
the base frozen. AdamW (torch.optim.AdamW, eps 1e-8) with weight decay on
rank >= 2 parameters only, gradient norm clipped, constant rate. The loss is
transformers': logits[:, :-1] against labels[:, 1:], mean. Prints one JSON line.
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from torch_gpt2 import Gpt2, peak_rss_mb


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--mode", choices=["lora", "full"], required=True)
    for name, kind, default in [
        ("layers", int, 12), ("embd", int, 768), ("heads", int, 12), ("vocab", int, 50257), ("positions", int, 1024),
        ("batch", int, 1), ("seq", int, 128), ("warmup", int, 2), ("steps", int, 8), ("threads", int, 2),
        ("lr", float, 1e-4), ("weight-decay", float, 0.01), ("clip", float, 1.0), ("seed", int, 0),
        ("r", int, 8), ("lora-alpha", float, 16),
    ]:
        p.add_argument("--" + name, type=kind, default=default)
    return p.parse_args()


class LoraLinear(nn.Module):
    """A frozen nn.Linear plus PEFT's LoRA term (dropout 0)."""

    def __init__(self, base, r, alpha):
        super().__init__()
        self.base = base
        for p in base.parameters():
            p.requires_grad_(False)
        self.lora_A = nn.Parameter(torch.empty(r, base.in_features))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.scale = alpha / r

    def forward(self, x):
        return self.base(x) + (x @ self.lora_A.t() @ self.lora_B.t()) * self.scale


def main():
    a = parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = Gpt2(a)
    if a.mode == "lora":
        model.requires_grad_(False)  # the base is frozen; only the adapters train
        for block in model.h:
            block.c_attn = LoraLinear(block.c_attn, a.r, a.lora_alpha)
    trainable = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in trainable if p.dim() >= 2], "weight_decay": a.weight_decay},
        {"params": [p for p in trainable if p.dim() < 2], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=a.lr, betas=(0.9, 0.999), eps=1e-8)
    total = a.warmup + a.steps
    data = torch.randint(0, a.vocab, (total, a.batch, a.seq))

    times, losses = [], []
    for step in range(total):
        ids = data[step]
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        logits = model(ids)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, a.vocab), ids[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, a.clip)
        optimizer.step()
        losses.append(loss.item())
        times.append(time.perf_counter() - start)

    seconds = statistics.median(times[a.warmup:])
    print(json.dumps({
        "engine": "pytorch " + torch.__version__,
        "mode": a.mode,
        "trainable_parameters": sum(p.numel() for p in trainable),
        "median_step_seconds": seconds,
        "step_seconds": times,
        "tokens_per_second": a.batch * a.seq / seconds,
        "first_loss": losses[0],
        "last_loss": losses[-1],
        "peak_rss_mb": peak_rss_mb(),
    }))


if __name__ == "__main__":
    main()
