"""A plain GPT-2 in PyTorch for the benchmarks that compare against it (transformers is not installable here):
learned positions, pre-LayerNorm blocks, fused c_attn, gelu_new, tied LM head, random N(0, 0.02) weights
unless Forja's are loaded (load_forja_weights)."""
import json
import math
import os

import torch
import torch.nn.functional as F
from torch import nn


class Block(nn.Module):
    def __init__(self, embd, heads):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(embd, eps=1e-5)
        self.c_attn = nn.Linear(embd, 3 * embd)
        self.c_proj = nn.Linear(embd, embd)
        self.ln_2 = nn.LayerNorm(embd, eps=1e-5)
        self.c_fc = nn.Linear(embd, 4 * embd)
        self.mlp_proj = nn.Linear(4 * embd, embd)

    def forward(self, x, mask):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        shape = (B, T, self.heads, C // self.heads)
        q, k, v = (t.view(shape).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // self.heads)
        att = att.masked_fill(mask, float("-inf")).softmax(dim=-1)
        x = x + self.c_proj((att @ v).transpose(1, 2).reshape(B, T, C))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class Gpt2(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.wte = nn.Embedding(a.vocab, a.embd)
        self.wpe = nn.Embedding(a.positions, a.embd)
        self.h = nn.ModuleList(Block(a.embd, a.heads) for _ in range(a.layers))
        self.ln_f = nn.LayerNorm(a.embd, eps=1e-5)
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                nn.init.normal_(p, std=0.02)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, ids):
        T = ids.shape[1]
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        x = self.wte(ids) + self.wpe(torch.arange(T))
        for block in self.h:
            x = block(x, mask)
        return self.ln_f(x) @ self.wte.weight.t()  # tied head


def peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("/proc/self/status has no VmHWM line")


# Forja's checkpoint names (HF GPT-2's) → this module's; HF's Conv1D weights are [in, out], nn.Linear's [out, in].
_RENAMES = [("transformer.", ""), ("attn.c_attn", "c_attn"), ("attn.c_proj", "c_proj"), ("mlp.c_fc", "c_fc"), ("mlp.c_proj", "mlp_proj")]
_LINEARS = ("c_attn.weight", "c_proj.weight", "c_fc.weight", "mlp_proj.weight")


def load_forja_weights(model, directory):
    """Copy the weights Forja wrote (weights.json: [{name, shape, offset}] into weights.bin, float32) into `model`."""
    with open(os.path.join(directory, "weights.json")) as f:
        manifest = json.load(f)
    with open(os.path.join(directory, "weights.bin"), "rb") as f:
        blob = bytearray(f.read())
    params = dict(model.named_parameters())
    seen = set()
    for entry in manifest:
        name = entry["name"]
        for old, new in _RENAMES:
            name = name.replace(old, new)
        count = math.prod(entry["shape"])
        value = torch.frombuffer(blob, dtype=torch.float32, count=count, offset=entry["offset"]).view(entry["shape"])
        if name.endswith(_LINEARS):
            value = value.t()
        if name not in params or params[name].shape != value.shape:
            raise ValueError(f"{entry['name']} {entry['shape']}: no parameter {name} of that shape in the PyTorch model")
        with torch.no_grad():
            params[name].copy_(value)
        seen.add(name)
    missing = sorted(set(params) - seen)
    if missing:
        raise ValueError(f"weights.json lacks {', '.join(missing)}")
