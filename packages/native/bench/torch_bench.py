"""The canonical workload in PyTorch, for the native benchmark's ratios.

D=100 features, N=1000 samples shared by the population, ReLU net f = a . relu(W x + b) + c with
H=100 hidden units per network, logistic loss (mean), full-batch GD, 200 steps, the per-feature
gradient share of W read back every step. The population is batched (one bmm-shaped matmul over a
leading population axis) and differentiated by autograd, the way a PyTorch user would write it.
Two untimed warm-up steps precede the timed ones; the best of `reps` runs is kept. Prints one JSON
object: {"torch": version, "threads": n, "results": [{"P", "steps", "seconds", "networkStepsPerSec"}]}.
Thread settings come from the environment (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS), set by the caller.
"""
import json
import sys
import time

import torch

D, N, H, STEPS, LR = 100, 1000, 100, 200, 0.1  # argv: populations (1,16,64), reps (3), steps (200)


def run(population: int, reps: int, steps: int) -> float:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(N, D, generator=g) * 2 - 1
    y = torch.where(x[:, 0] >= 0, 1.0, -1.0)
    xt = x.t().contiguous()
    best = float("inf")
    for _ in range(reps):
        w = ((torch.rand(population, H, D, generator=g) * 2 - 1) * 0.12).requires_grad_()
        b = torch.zeros(population, H, 1).requires_grad_()
        a = ((torch.rand(population, 1, H, generator=g) * 2 - 1) * 0.12).requires_grad_()
        c = torch.zeros(population, 1, 1).requires_grad_()
        params = [w, b, a, c]
        start = time.perf_counter()
        for i in range(steps + 2):
            if i == 2:
                start = time.perf_counter()
            hidden = torch.relu(torch.matmul(w, xt) + b)  # [P, H, N]
            f = (torch.matmul(a, hidden) + c).squeeze(1)  # [P, N]
            loss = torch.nn.functional.softplus(-y * f).mean(1).sum()
            for p in params:
                p.grad = None
            loss.backward()
            cols = (w.grad * w.grad).sum(1)  # [P, D]
            share = cols / cols.sum(1, keepdim=True)
            share.numpy()
            with torch.no_grad():
                for p in params:
                    p -= LR * p.grad
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    populations = [int(p) for p in sys.argv[1].split(",")] if len(sys.argv) > 1 else [1, 16, 64]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else STEPS
    results = []
    for p in populations:
        seconds = run(p, reps, steps)
        results.append({"P": p, "steps": steps, "seconds": seconds, "networkStepsPerSec": p * steps / seconds})
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "results": results}))


if __name__ == "__main__":
    main()
