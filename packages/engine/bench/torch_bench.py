"""PyTorch reference for `pnpm bench` (packages/engine/src/bench/engine-bench.ts).

The canonical dynlab workload in PyTorch on the CPU: a population of P two-layer ReLU nets
f = a . relu(W x) (no biases) on shared data X [N, D], mean logistic loss, full-batch gradient
descent with autograd, and every step the loss, the training error and the per-feature gradient
share of W read back to the host (what dynlab records). Two formulations, both reported: `bmm`
(batched matmuls over the population, as the issue describes) and `folded` (torch.matmul of
[P, H, D] by [D, N], which PyTorch folds into one large GEMM, the same trick dynlab uses).

Usage: python3 torch_bench.py '{"P": [1, 16, 64], "D": 100, "N": 1000, "H": 100, "steps": 200, "repeats": 3, "threads": 2}'
Prints one JSON object per (P, variant) on stdout.
"""
import json
import sys
import time

import torch


def run(P, D, N, H, steps, variant):
    g = torch.Generator().manual_seed(0)
    X = (torch.rand(N, D, generator=g) < 0.5).float() * torch.sign(torch.randn(N, D, generator=g))
    y = torch.sign(torch.randn(N, generator=g))
    y[y == 0] = 1
    XT = X.t().contiguous()
    XTb = XT.expand(P, D, N)
    yb = y.view(1, 1, N)
    W = (0.1 * torch.randn(P, H, D, generator=g)).requires_grad_()
    a = (0.1 * torch.randn(P, 1, H, generator=g)).requires_grad_()
    lr = torch.linspace(0.01, 0.02, P).view(P, 1, 1)
    sink = 0.0
    for _ in range(steps):
        Z = torch.bmm(W, XTb) if variant == "bmm" else torch.matmul(W, XT)
        A = torch.relu(Z)
        f = torch.bmm(a, A)
        m = yb * f
        per_trial = torch.nn.functional.softplus(-m).mean(dim=(1, 2))
        per_trial.sum().backward()
        with torch.no_grad():
            gs = (W.grad ** 2).sum(dim=1)
            share = gs / gs.sum(dim=1, keepdim=True).clamp_min(1e-30)
            err = (m <= 0).float().mean(dim=(1, 2))
            loss_host = per_trial.detach().numpy()
            share_host = share.numpy()
            err_host = err.numpy()
            sink += float(loss_host[0]) + float(share_host[0, 0]) + float(err_host[0])
            W -= lr * W.grad
            a -= lr * a.grad
            W.grad = None
            a.grad = None
    return sink


def main():
    cfg = json.loads(sys.argv[1])
    torch.set_num_threads(int(cfg.get("threads", 1)))
    for P in cfg["P"]:
        for variant in ("bmm", "folded"):
            run(P, cfg["D"], cfg["N"], cfg["H"], 3, variant)
            rates = []
            for _ in range(int(cfg.get("repeats", 3))):
                t0 = time.perf_counter()
                run(P, cfg["D"], cfg["N"], cfg["H"], cfg["steps"], variant)
                rates.append(P * cfg["steps"] / (time.perf_counter() - t0))
            print(json.dumps({"P": P, "variant": variant, "threads": torch.get_num_threads(), "netStepsPerS": rates, "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
