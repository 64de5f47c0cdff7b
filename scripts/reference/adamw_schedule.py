"""Reference values for src/training (adamw.ts, lr-schedule.ts, clip-grad.ts), made with torch itself.

Run: /usr/bin/python3 -P scripts/reference/adamw_schedule.py > src/training/reference/adamw-schedule.json
(-P: the folder holds a random.py that would shadow the standard library.)
torch.optim.AdamW (foreach off, amsgrad off), torch.nn.utils.clip_grad_norm_, and LambdaLR with the lambdas of
transformers' get_linear_schedule_with_warmup / get_cosine_schedule_with_warmup (num_cycles 0.5), written out here
from transformers' definitions (transformers is not installed). Gradients are fixed random tensors per step.
"""
import json
import math
import sys

import torch


def linear_lambda(warmup, total):
    def f(step):
        if step < warmup:
            return float(step) / float(max(1, warmup))
        return max(0.0, float(total - step) / float(max(1, total - warmup)))
    return f


def cosine_lambda(warmup, total, cycles=0.5):
    def f(step):
        if step < warmup:
            return float(step) / float(max(1, warmup))
        progress = float(step - warmup) / float(max(1, total - warmup))
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(cycles) * 2.0 * progress)))
    return f


def run(kind, lr, weight_decay, max_norm, steps, warmup, seed):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(3, 4, generator=g)
    b = torch.randn(5, generator=g)
    params = [torch.nn.Parameter(a.clone()), torch.nn.Parameter(b.clone())]
    grads = [[torch.randn(3, 4, generator=g) * 3, torch.randn(5, generator=g) * 3] for _ in range(steps)]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, foreach=False)
    fn = linear_lambda(warmup, steps) if kind == 'linear' else cosine_lambda(warmup, steps)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, fn)
    out = {"kind": kind, "lr": lr, "weightDecay": weight_decay, "maxNorm": max_norm, "warmup": warmup, "total": steps,
           "init": {"a": a.flatten().tolist(), "b": b.flatten().tolist()}, "grads": [], "lrs": [], "norms": [], "after": []}
    for s in range(steps):
        for p, gr in zip(params, grads[s]):
            p.grad = gr.clone()
        out["grads"].append({"a": grads[s][0].flatten().tolist(), "b": grads[s][1].flatten().tolist()})
        out["lrs"].append(opt.param_groups[0]["lr"])
        norm = torch.nn.utils.clip_grad_norm_(params, max_norm) if max_norm > 0 else None
        out["norms"].append(None if norm is None else float(norm))
        opt.step()
        sched.step()
        out["after"].append({"a": params[0].detach().flatten().tolist(), "b": params[1].detach().flatten().tolist()})
    return out


cases = [run('linear', 1e-2, 1e-2, 1.0, 8, 3, 1), run('cosine', 5e-3, 0.1, 0.0, 8, 2, 2), run('cosine', 3e-2, 0.0, 4.0, 6, 0, 3)]
json.dump({"torch": torch.__version__, "cases": cases}, sys.stdout, indent=1)
sys.stdout.write("\n")
