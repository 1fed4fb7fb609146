"""The canonical workload in PyTorch, for the native benchmark's ratios.

D=100 features, N=1000 samples shared by the population, ReLU net f = a . relu(W x + b) + c with
H=100 hidden units per network, logistic loss (mean), full-batch GD, 200 steps, the per-feature
gradient share of W read back every step. The population is batched over a leading axis and
differentiated by autograd, in two formulations: `bmm` (batched matmuls, the data expanded over the
population) and `folded` (torch.matmul of [P, H, D] by [D, N], which PyTorch folds into one large
GEMM, the layout the native backend uses); the faster of the two is reported.
Two untimed warm-up steps precede the timed ones; the best of `reps` runs is kept. Prints one JSON
object: {"torch": version, "threads": n, "results": [{"P", "steps", "variant", "seconds",
"networkStepsPerSec", "byVariant"}]}.
Thread settings come from the environment (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS), set by the caller.
With `--serve`, it prints {"torch", "threads"} once and then answers each line "P reps steps" read
from stdin with one such result as a JSON line, so that a caller can interleave PyTorch's runs with
its own without starting Python (and importing torch) for each.
"""
import json
import sys
import time

import torch

D, N, H, STEPS, LR = 100, 1000, 100, 200, 0.1  # argv: populations (1,16,64), reps (3), steps (200)


def run(population: int, reps: int, steps: int, variant: str) -> float:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(N, D, generator=g) * 2 - 1
    y = torch.where(x[:, 0] >= 0, 1.0, -1.0)
    xt = x.t().contiguous()
    xtb = xt.expand(population, D, N)
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
            z = torch.bmm(w, xtb) if variant == "bmm" else torch.matmul(w, xt)  # [P, H, N]
            hidden = torch.relu(z + b)
            f = (torch.bmm(a, hidden) + c).squeeze(1)  # [P, N]
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


def result(p: int, reps: int, steps: int) -> dict:
    seconds = {v: run(p, reps, steps, v) for v in ("bmm", "folded")}
    best = min(seconds, key=seconds.get)
    return {"P": p, "steps": steps, "variant": best, "seconds": seconds[best], "networkStepsPerSec": p * steps / seconds[best],
            "byVariant": {v: p * steps / s for v, s in seconds.items()}}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
        for line in sys.stdin:
            p, reps, steps = (int(v) for v in line.split())
            print(json.dumps(result(p, reps, steps)), flush=True)
        return
    populations = [int(p) for p in sys.argv[1].split(",")] if len(sys.argv) > 1 else [1, 16, 64]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else STEPS
    results = [result(p, reps, steps) for p in populations]
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "results": results}))


if __name__ == "__main__":
    main()
