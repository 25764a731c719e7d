"""PyTorch side of `npm run bench`: the seed's autoencoder, trained the way
bench/autoencoder.ts trains it with Forja, so wall times compare like for like.

784 -> Dense(32, relu) -> Dense(784, sigmoid), mean binary cross-entropy,
Adam(lr, eps=1e-7 as in Keras), Glorot-uniform weights and zero biases (Keras'
defaults), a fresh shuffle each epoch. The digits come from the caller as raw
little-endian float32, count x 784. Prints one JSON line.
"""
import argparse
import json
import resource
import time

import numpy as np
import torch


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True, help="raw float32 file, count x 784")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


def glorot_linear(fan_in, fan_out):
    layer = torch.nn.Linear(fan_in, fan_out)
    torch.nn.init.xavier_uniform_(layer.weight)
    torch.nn.init.zeros_(layer.bias)
    return layer


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x = torch.from_numpy(np.fromfile(args.data, dtype="<f4").reshape(-1, 784))
    count = x.shape[0]

    model = torch.nn.Sequential(
        glorot_linear(784, 32), torch.nn.ReLU(), glorot_linear(32, 784), torch.nn.Sigmoid()
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, eps=1e-7)
    loss_fn = torch.nn.BCELoss()

    start = time.perf_counter()
    epoch_loss = float("nan")
    for _ in range(args.epochs):
        order = torch.randperm(count)
        total, seen = 0.0, 0
        for begin in range(0, count, args.batch_size):
            batch = x[order[begin : begin + args.batch_size]]
            optimizer.zero_grad()
            loss = loss_fn(model(batch), batch)
            loss.backward()
            optimizer.step()
            total += loss.item() * batch.shape[0]
            seen += batch.shape[0]
        epoch_loss = total / seen
    seconds = time.perf_counter() - start

    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(
        json.dumps(
            {
                "engine": "pytorch " + torch.__version__,
                "seconds": seconds,
                "samples_per_second": args.epochs * count / seconds,
                "final_loss": epoch_loss,
                "peak_rss_mb": peak_kib / 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
