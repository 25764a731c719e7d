"""PyTorch side of `npm run bench:train-gpt`: the same char-level GPT-2 training steps Forja ran, from Forja's
initial weights (load_forja_weights), on Forja's batches and learning rates (written by bench/train-gpt.ts).

AdamW as Forja's LmTask: torch.optim.AdamW, eps 1e-8, weight decay on rank >= 2 parameters only, global gradient
norm clipped, the rate of each step set from Forja's schedule. Mean cross-entropy over every position. A step's
time covers zero_grad, forward, backward, clip and the update. Prints one JSON line.
"""
import argparse
import json
import os
import time

import torch
import torch.nn.functional as F

from torch_gpt2 import Gpt2, load_forja_weights, peak_rss_mb


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True, help="what bench/train-gpt.ts wrote: weights, batches.bin, run.json")
    p.add_argument("--threads", type=int, required=True)
    return p.parse_args()


def main():
    a = parse_args()
    with open(os.path.join(a.dir, "run.json")) as f:
        run = json.load(f)
    torch.set_num_threads(a.threads)
    shape = argparse.Namespace(vocab=run["vocab"], embd=run["embd"], positions=run["block"], heads=run["heads"], layers=run["layers"])
    model = Gpt2(shape)
    load_forja_weights(model, a.dir)
    params = list(model.parameters())
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": run["weight_decay"]},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=run["lrs"][0], betas=(run["beta1"], run["beta2"]), eps=1e-8)
    steps, batch, block = len(run["lrs"]), run["batch"], run["block"]
    with open(os.path.join(a.dir, "batches.bin"), "rb") as f:
        batches = torch.frombuffer(bytearray(f.read()), dtype=torch.int64).view(steps, 2, batch, block)

    times, losses = [], []
    for step in range(steps):
        inputs, targets = batches[step, 0], batches[step, 1]
        start = time.perf_counter()
        for group in optimizer.param_groups:
            group["lr"] = run["lrs"][step]
        optimizer.zero_grad(set_to_none=True)
        logits = model(inputs)
        loss = F.cross_entropy(logits.view(-1, run["vocab"]), targets.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, run["clip"])
        optimizer.step()
        losses.append(loss.item())
        times.append(time.perf_counter() - start)

    print(json.dumps({
        "engine": "pytorch " + torch.__version__,
        "step_seconds": times,
        "losses": losses,
        "peak_rss_mb": peak_rss_mb(),
    }))


if __name__ == "__main__":
    main()
