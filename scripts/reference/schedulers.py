#!/usr/bin/env python3
"""Reference numbers for pmg's diffusion schedulers (src/schedulers/*.ts).

An independent implementation of diffusers' schedulers (DDIM, DDPM, PNDM, Euler, Euler ancestral, DPM-Solver++
multistep, LCM), written from the papers and from reading diffusers' source (scheduling_*.py at commit 58eb52c0,
August 2026): read, not copied or imported. Three kinds of arithmetic, each as diffusers does it:
  - training tables (betas, alphas_cumprod, sigmas, DPM-Solver's lambda): real torch on the CPU, float32 tensors,
    exactly the calls diffusers' __init__ makes (torch.linspace, ** 2, torch.cumprod, rescale_zero_terminal_snr);
  - inference timesteps: numpy, the expressions of diffusers' set_timesteps (np.linspace / np.arange / round /
    astype), and _sigma_to_t with numpy >= 2 promotion (see sigma_to_t);
  - steps: diffusers' step formulas in float64, each step's output stored as float32.
It also checks (and stores in tables.json) what torch's CPU cumprod does on float32: a float64 running product
rounded to float32 per element.

Inputs are deterministic so the TypeScript tests can rebuild them without a shared RNG:
  base sample  x[i]     = sin(0.37 i + 0.1)                (scaled by init_noise_sigma)
  model output m_k[i]   = 0.6 cos(0.23 i + 0.5 k) + 0.1 sin(0.05 i k)     at step k
  noise        z_k[i]   = sin(0.71 i + 1.3 k + 0.2)        for stochastic steps (DDPM, Euler a, LCM, DDIM eta > 0)
with i the flat index in a [2, 1, 2, 3] tensor.

Needs torch (Debian's python3-torch 1.13 was used) and numpy.
Usage: /usr/bin/python3 scripts/reference/schedulers.py   (writes src/schedulers/reference/*.json; about 80 s)
"""
import hashlib
import json
import math
import os
import sys

# scripts/reference/random.py would shadow the standard library's random module, which numpy imports.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import numpy as np  # noqa: E402
import torch  # noqa: E402

F32 = np.float32
SHAPE = [2, 1, 2, 3]
N = int(np.prod(SHAPE))


# ---------------------------------------------------------------- inputs
def base_sample():
    i = np.arange(N, dtype=np.float64)
    return np.sin(0.37 * i + 0.1).astype(F32)


def model_output(k):
    i = np.arange(N, dtype=np.float64)
    return (0.6 * np.cos(0.23 * i + 0.5 * k) + 0.1 * np.sin(0.05 * i * k)).astype(F32)


def noise(k):
    i = np.arange(N, dtype=np.float64)
    return np.sin(0.71 * i + 1.3 * k + 0.2).astype(F32)


# ---------------------------------------------------------------- training tables (torch, as diffusers builds them)
def betas_of(cfg):
    """diffusers' __init__: torch.linspace in float32 (squared for scaled_linear), betas_for_alpha_bar, trained_betas."""
    T = cfg["num_train_timesteps"]
    if cfg.get("trained_betas") is not None:
        b = torch.tensor(cfg["trained_betas"], dtype=torch.float32)
    elif cfg["beta_schedule"] == "linear":
        b = torch.linspace(cfg["beta_start"], cfg["beta_end"], T, dtype=torch.float32)
    elif cfg["beta_schedule"] == "scaled_linear":
        b = torch.linspace(cfg["beta_start"] ** 0.5, cfg["beta_end"] ** 0.5, T, dtype=torch.float32) ** 2
    elif cfg["beta_schedule"] == "squaredcos_cap_v2":
        def abar(t):
            return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2
        b = torch.tensor([min(1 - abar((i + 1) / T) / abar(i / T), 0.999) for i in range(T)], dtype=torch.float32)
    else:
        raise ValueError(cfg["beta_schedule"])
    if cfg.get("rescale_betas_zero_snr"):
        b = zero_snr(b)
    return b


def zero_snr(betas):
    """rescale_zero_terminal_snr (Lin et al. 2023, algorithm 1) on torch float32 tensors."""
    ac = torch.cumprod(1.0 - betas, dim=0)
    s = ac.sqrt()
    s0, sT = s[0].clone(), s[-1].clone()
    s -= sT
    s *= s0 / (s0 - sT)
    bar = s ** 2
    alphas = torch.cat([bar[0:1], bar[1:] / bar[:-1]])
    return 1 - alphas


def alphas_cumprod_of(cfg, zero_snr_floor=False):
    """torch.cumprod(1 - betas) (float32 tensor); sigma schedulers set the last value to 2^-24 under zero SNR."""
    ac = torch.cumprod(1.0 - betas_of(cfg), dim=0)
    if zero_snr_floor and cfg.get("rescale_betas_zero_snr"):
        ac[-1] = 2.0 ** -24
    return ac.numpy()


def train_sigmas(ac):
    """((1 - alphas_cumprod) / alphas_cumprod) ** 0.5 on the float32 tensor, as numpy float32."""
    t = torch.from_numpy(np.asarray(ac, dtype=F32))
    return (((1 - t) / t) ** 0.5).numpy()


def cumprod_is_float64_running_product(betas):
    """torch's CPU cumprod on float32: is it a float64 running product rounded per element? (checked, stored)"""
    alphas = (1.0 - betas).numpy()
    acc, out = 1.0, np.empty(len(alphas), dtype=F32)
    for i, a in enumerate(alphas):
        acc *= float(a)
        out[i] = F32(acc)
    torch_values = torch.cumprod(1.0 - betas, dim=0).numpy()
    f32_acc, out32 = F32(1), np.empty(len(alphas), dtype=F32)
    for i, a in enumerate(alphas):
        f32_acc = F32(f32_acc * a)
        out32[i] = f32_acc
    return {"float64_running_product_equal": int((out == torch_values).sum()),
            "float32_running_product_equal": int((out32 == torch_values).sum()), "n": len(alphas)}


# ---------------------------------------------------------------- inference timesteps (numpy, as diffusers' set_timesteps)
def np_linspace(a, b, n):
    return np.linspace(a, b, n, dtype=np.float64)


def spaced(cfg, n, rounding=True):
    """DDIM / DDPM (rounding, int64) and Euler / Euler ancestral (float32) timesteps, descending."""
    T = cfg["num_train_timesteps"]
    sp = cfg["timestep_spacing"]
    if sp == "linspace":
        if rounding:
            return np_linspace(0, T - 1, n).round()[::-1].astype(np.int64)
        return np.linspace(0, T - 1, n, dtype=np.float32)[::-1].copy()
    if sp == "leading":
        r = T // n
        t = (np.arange(0, n) * r).round()[::-1].copy()
        return (t.astype(np.int64) if rounding else t.astype(np.float32)) + cfg["steps_offset"]
    if sp == "trailing":
        t = np.round(np.arange(T, 0, -T / n))
        return (t.astype(np.int64) if rounding else t.astype(np.float32)) - 1
    raise ValueError(sp)


def pndm_timesteps(cfg, n):
    """PNDMScheduler.set_timesteps: (prk timesteps, plms timesteps)."""
    T = cfg["num_train_timesteps"]
    sp = cfg["timestep_spacing"]
    if sp == "linspace":
        base = np_linspace(0, T - 1, n).round().astype(np.int64)
    elif sp == "leading":
        base = (np.arange(0, n) * (T // n)).round() + cfg["steps_offset"]
    else:
        base = np.round(np.arange(T, 0, -T / n))[::-1].astype(np.int64) - 1
    if cfg["skip_prk_steps"]:
        prk = np.array([])
        plms = np.concatenate([base[:-1], base[-2:-1], base[-1:]])[::-1].copy()
    else:
        p = np.array(base[-4:]).repeat(2) + np.tile(np.array([0, T // n // 2]), 4)
        prk = (p[:-1].repeat(2)[1:-1])[::-1].copy()
        plms = base[:-3][::-1].copy()
    return prk.astype(np.int64), plms.astype(np.int64)


def dpm_lambda(ac):
    """DPMSolverMultistepScheduler.lambda_t = log(alpha_t) - log(sigma_t) on torch float32 tensors."""
    t = torch.from_numpy(np.asarray(ac, dtype=F32))
    return torch.log(torch.sqrt(t)) - torch.log(torch.sqrt(1 - t))


def dpm_timesteps(cfg, n, ac):
    """DPMSolverMultistepScheduler.set_timesteps: int64 timesteps and float32 sigmas (with the final one)."""
    T = cfg["num_train_timesteps"]
    lam = dpm_lambda(ac)
    clipped = torch.searchsorted(torch.flip(lam, [0]), cfg["lambda_min_clipped"])
    last_t = int((T - clipped).numpy().item())
    sp = cfg["timestep_spacing"]
    if sp == "linspace":
        ts = np.linspace(0, last_t - 1, n + 1).round()[::-1][:-1].copy().astype(np.int64)
    elif sp == "leading":
        ratio = last_t // (n + 1)
        ts = (np.arange(0, n + 1) * ratio).round()[::-1][:-1].copy().astype(np.int64) + cfg["steps_offset"]
    else:
        ts = np.arange(last_t, 0, -(T / n)).round().copy().astype(np.int64) - 1
    sig = train_sigmas(ac)
    log_s = np.log(sig)
    if cfg["use_karras_sigmas"]:
        s = karras(float(np.flip(sig)[-1]), float(np.flip(sig)[0]), n)
        t = np.array([sigma_to_t(v, log_s) for v in s])
        if cfg["beta_schedule"] != "squaredcos_cap_v2":
            t = t.round()
        ts = t.astype(np.int64)  # torch.from_numpy(...).to(torch.int64): truncates what was not rounded
    else:
        s = np.interp(ts, np.arange(0, len(sig)), sig)
    last = float(sig[0]) if cfg["final_sigmas_type"] == "sigma_min" else 0.0
    return ts, np.concatenate([s, [last]]).astype(F32)


def lcm_timesteps(cfg, n):
    T, orig = cfg["num_train_timesteps"], cfg["original_inference_steps"]
    k = T // orig
    origin = (np.asarray(list(range(1, orig + 1))) * k - 1)[::-1].copy()
    idx = np.floor(np.linspace(0, len(origin), num=n, endpoint=False)).astype(np.int64)
    return origin[idx]


def karras(smin, smax, n):
    """_convert_to_karras: Karras et al. (2022) sigmas, rho = 7, in float64."""
    rho = 7.0
    ramp = np.linspace(0, 1, n)
    return (smax ** (1 / rho) + ramp * (smin ** (1 / rho) - smax ** (1 / rho))) ** rho


def sigma_to_t(sigma, log_sigmas):
    """_sigma_to_t with numpy >= 2 (NEP 50) type promotion, written out so any numpy gives it: everything in float64
    except low - high, a difference of two float32 log-sigmas. (numpy 1.x's value-based casting instead computes
    dists and w in float32 there, which moves Karras timesteps: the cosine schedule's first one is 999 instead of 998.)
    Checked: equal to diffusers' code run under numpy 2.4.6 on 42800 Karras sigmas."""
    ls = log_sigmas.astype(np.float64)
    log_sigma = math.log(max(float(sigma), 1e-10))
    ge = (log_sigma - ls) >= 0
    low = min(int(np.cumsum(ge).argmax()), len(ls) - 2)
    denom = float(np.float32(log_sigmas[low] - log_sigmas[low + 1]))
    w = min(max((float(log_sigmas[low]) - log_sigma) / denom, 0.0), 1.0)
    return (1 - w) * low + w * (low + 1)


def x0_eps(pred, a, s, m):
    """x0 and eps from a VP model output (a = alpha_prod_t)."""
    s = s.astype(np.float64)
    m = m.astype(np.float64)
    sa, sb = math.sqrt(a), math.sqrt(1 - a)
    if pred == "epsilon":
        return (s - sb * m) / sa, m
    if pred == "v_prediction":
        return sa * s - sb * m, sa * m + sb * s
    return m, (s - sa * m) / sb


def clip_or_threshold(x0, cfg):
    if cfg.get("thresholding"):
        b = x0.reshape(SHAPE[0], -1)
        q = np.quantile(np.abs(b), cfg["dynamic_thresholding_ratio"], axis=1)  # numpy 'linear' = torch default
        s = np.clip(q, 1, cfg["sample_max_value"])[:, None]
        return (np.clip(b, -s, s) / s).reshape(-1)
    if cfg.get("clip_sample"):
        r = cfg["clip_sample_range"]
        return np.clip(x0, -r, r)
    return x0


# ---------------------------------------------------------------- schedulers
DEFAULTS = {
    "ddim": dict(num_train_timesteps=1000, beta_start=0.0001, beta_end=0.02, beta_schedule="linear", trained_betas=None,
                 clip_sample=True, set_alpha_to_one=True, steps_offset=0, prediction_type="epsilon", thresholding=False,
                 dynamic_thresholding_ratio=0.995, clip_sample_range=1.0, sample_max_value=1.0, timestep_spacing="leading",
                 rescale_betas_zero_snr=False),
    "ddpm": dict(num_train_timesteps=1000, beta_start=0.0001, beta_end=0.02, beta_schedule="linear", trained_betas=None,
                 variance_type="fixed_small", clip_sample=True, prediction_type="epsilon", thresholding=False,
                 dynamic_thresholding_ratio=0.995, clip_sample_range=1.0, sample_max_value=1.0, timestep_spacing="leading",
                 steps_offset=0, rescale_betas_zero_snr=False),
    "pndm": dict(num_train_timesteps=1000, beta_start=0.0001, beta_end=0.02, beta_schedule="linear", trained_betas=None,
                 skip_prk_steps=False, set_alpha_to_one=False, prediction_type="epsilon", timestep_spacing="leading", steps_offset=0),
    "euler": dict(num_train_timesteps=1000, beta_start=0.0001, beta_end=0.02, beta_schedule="linear", trained_betas=None,
                  prediction_type="epsilon", interpolation_type="linear", use_karras_sigmas=False, sigma_min=None, sigma_max=None,
                  timestep_spacing="linspace", timestep_type="discrete", steps_offset=0, rescale_betas_zero_snr=False,
                  final_sigmas_type="zero"),
    "euler-ancestral": dict(num_train_timesteps=1000, beta_start=0.0001, beta_end=0.02, beta_schedule="linear", trained_betas=None,
                            prediction_type="epsilon", timestep_spacing="linspace", steps_offset=0, rescale_betas_zero_snr=False),
    "dpm-solver++": dict(num_train_timesteps=1000, beta_start=0.0001, beta_end=0.02, beta_schedule="linear", trained_betas=None,
                         solver_order=2, prediction_type="epsilon", thresholding=False, dynamic_thresholding_ratio=0.995,
                         sample_max_value=1.0, algorithm_type="dpmsolver++", solver_type="midpoint", lower_order_final=True,
                         euler_at_final=False, use_karras_sigmas=False, final_sigmas_type="zero", lambda_min_clipped=-math.inf,
                         timestep_spacing="linspace", steps_offset=0, rescale_betas_zero_snr=False),
    "lcm": dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", trained_betas=None,
                original_inference_steps=50, clip_sample=False, clip_sample_range=1.0, set_alpha_to_one=True, steps_offset=0,
                prediction_type="epsilon", thresholding=False, dynamic_thresholding_ratio=0.995, sample_max_value=1.0,
                timestep_spacing="leading", timestep_scaling=10.0, rescale_betas_zero_snr=False),
}


class Run:
    """Result of one scheduler run: schedule plus per-step outputs."""

    def __init__(self, name, cfg, n):
        self.name, self.cfg, self.n = name, cfg, n
        self.timesteps, self.sigmas, self.init_noise_sigma = [], None, 1.0
        self.steps = []


def ddim(cfg, n, steps, eta=0.0):
    r = Run("ddim", cfg, n)
    ac = alphas_cumprod_of(cfg)
    final = 1.0 if cfg["set_alpha_to_one"] else float(ac[0])
    ts = spaced(cfg, n).astype(int)
    r.timesteps = ts.tolist()
    x = base_sample().astype(np.float64)
    T = cfg["num_train_timesteps"]
    for k, t in enumerate(ts[:steps]):
        m = model_output(k)
        prev_t = t - T // n
        a = float(ac[t])
        ap = float(ac[prev_t]) if prev_t >= 0 else final
        x0, eps = x0_eps(cfg["prediction_type"], a, x, m)
        x0 = clip_or_threshold(x0, cfg)
        # DDIM eq. 12 and 16 (diffusers' DDIMScheduler.step with eta; its variance noise is noise(k) here).
        std = eta * math.sqrt((1 - ap) / (1 - a) * (1 - a / ap))
        x = math.sqrt(ap) * x0 + math.sqrt(1 - ap - std ** 2) * eps
        if eta > 0:
            x = x + std * noise(k).astype(np.float64)
        x = x.astype(F32).astype(np.float64)
        r.steps.append((x, x0))
    return r


def ddpm(cfg, n, steps):
    r = Run("ddpm", cfg, n)
    ac = alphas_cumprod_of(cfg)
    ts = spaced(cfg, n).astype(int)
    r.timesteps = ts.tolist()
    x = base_sample().astype(np.float64)
    for k, t in enumerate(ts[:steps]):
        m = model_output(k)
        prev_t = int(ts[k + 1]) if k + 1 < len(ts) else -1
        a = float(ac[t])
        ap = float(ac[prev_t]) if prev_t >= 0 else 1.0
        cur_alpha = a / ap
        cur_beta = 1 - cur_alpha
        x0, _ = x0_eps(cfg["prediction_type"], a, x, m)
        x0 = clip_or_threshold(x0, cfg)
        mean = (math.sqrt(ap) * cur_beta / (1 - a)) * x0 + (math.sqrt(cur_alpha) * (1 - ap) / (1 - a)) * x
        if t > 0:
            var = max((1 - ap) / (1 - a) * cur_beta, 1e-20)
            vt = cfg["variance_type"]
            std = math.sqrt(var) if vt == "fixed_small" else math.exp(0.5 * math.log(var)) if vt == "fixed_small_log" else math.sqrt(cur_beta)
            mean = mean + std * noise(k).astype(np.float64)
        x = mean.astype(F32).astype(np.float64)
        r.steps.append((x, x0))
    return r


def pndm(cfg, n, steps):
    r = Run("pndm", cfg, n)
    ac = alphas_cumprod_of(cfg)
    final = 1.0 if cfg["set_alpha_to_one"] else float(ac[0])
    T = cfg["num_train_timesteps"]
    prk, plms = pndm_timesteps(cfg, n)
    ts = np.concatenate([prk, plms]).astype(int)
    r.timesteps = ts.tolist()

    def transfer(x, t, tp, e):
        a = float(ac[t])
        ap = float(ac[tp]) if tp >= 0 else final
        if cfg["prediction_type"] == "v_prediction":
            e = math.sqrt(a) * e + math.sqrt(1 - a) * x
        denom = a * math.sqrt(1 - ap) + math.sqrt(a * (1 - a) * ap)
        return math.sqrt(ap / a) * x - (ap - a) * e / denom

    x = base_sample().astype(np.float64)
    ets, counter, cur_sample, acc = [], 0, None, None
    stride = T // n
    for k, t in enumerate(ts[:steps]):
        t = int(t)
        m = model_output(k).astype(np.float64)
        x0, _ = x0_eps(cfg["prediction_type"], float(ac[t]), x, m)
        if counter < len(prk):
            diff = 0 if counter % 2 else stride // 2
            tp, tt = t - diff, int(prk[counter // 4 * 4])
            ph = counter % 4
            e = m
            if ph == 0:
                acc = m / 6
                ets.append(m)
                cur_sample = x
            elif ph in (1, 2):
                acc = acc + m / 3
            else:
                e = acc + m / 6
            new = transfer(cur_sample, tt, tp, e)
        else:
            tp, tt = t - stride, t
            if counter != 1:
                ets = ets[-3:] + [m]
            else:
                tp, tt = t, t + stride
            src = x
            if len(ets) == 1 and counter == 0:
                e = m
                cur_sample = x
            elif len(ets) == 1 and counter == 1:
                e = (m + ets[-1]) / 2
                src = cur_sample
            elif len(ets) == 2:
                e = (3 * ets[-1] - ets[-2]) / 2
            elif len(ets) == 3:
                e = (23 * ets[-1] - 16 * ets[-2] + 5 * ets[-3]) / 12
            else:
                e = (55 * ets[-1] - 59 * ets[-2] + 37 * ets[-3] - 9 * ets[-4]) / 24
            new = transfer(src, tt, tp, e)
        counter += 1
        x = new.astype(F32).astype(np.float64)
        r.steps.append((x, x0))
    return r


def sigma_schedule(cfg, n, ancestral):
    """EulerDiscreteScheduler / EulerAncestralDiscreteScheduler.set_timesteps and init_noise_sigma."""
    ac = alphas_cumprod_of(cfg, zero_snr_floor=True)
    ts_all = train_sigmas(ac)
    ts = spaced(cfg, n, rounding=False)
    log_s = np.log(ts_all)
    sig = np.interp(ts, np.arange(0, len(ts_all)), ts_all)
    if not ancestral and cfg.get("use_karras_sigmas"):
        smin = cfg["sigma_min"] if cfg.get("sigma_min") is not None else sig[-1]
        smax = cfg["sigma_max"] if cfg.get("sigma_max") is not None else sig[0]
        sig = karras(float(smin), float(smax), n)
        ts = np.array([sigma_to_t(s, log_s) for s in sig])
    last = float(ts_all[0]) if (not ancestral and cfg["final_sigmas_type"] == "sigma_min") else 0.0
    sig = np.concatenate([sig, [last]]).astype(F32)
    ts = ts.astype(F32)
    if not ancestral and cfg["timestep_type"] == "continuous" and cfg["prediction_type"] == "v_prediction":
        ts = (0.25 * np.log(sig[:-1].astype(np.float64))).astype(F32)
    smax = float(sig.max())
    init = smax if cfg["timestep_spacing"] in ("linspace", "trailing") else math.sqrt(smax ** 2 + 1)
    return ts, sig, init


def euler(cfg, n, steps, ancestral=False):
    r = Run("euler-ancestral" if ancestral else "euler", cfg, n)
    ts, sig, init = sigma_schedule(cfg, n, ancestral)
    r.timesteps, r.sigmas, r.init_noise_sigma = [float(t) for t in ts], [float(s) for s in sig], init
    x = (base_sample().astype(np.float64) * init).astype(F32).astype(np.float64)
    r.scaled = []
    for k in range(min(steps, len(ts))):
        s = float(sig[k])
        r.scaled.append((x / float(F32(math.sqrt(s * s + 1)))).astype(F32))
        m = model_output(k).astype(np.float64)
        p = cfg["prediction_type"]
        if p == "epsilon":
            x0 = x - s * m
        elif p == "v_prediction":
            x0 = m * (-s / math.sqrt(s * s + 1)) + x / (s * s + 1)
        else:
            x0 = m
        d = (x - x0) / s
        if ancestral:
            st = float(sig[k + 1])
            up = math.sqrt(st ** 2 * (s ** 2 - st ** 2) / s ** 2)
            down = math.sqrt(st ** 2 - up ** 2)
            new = x + d * (down - s) + noise(k).astype(np.float64) * up
        else:
            new = x + d * (float(sig[k + 1]) - s)
        x = new.astype(F32).astype(np.float64)
        r.steps.append((x, x0))
    return r


def dpm(cfg, n, steps):
    r = Run("dpm-solver++", cfg, n)
    ac = alphas_cumprod_of(cfg, zero_snr_floor=True)
    ts, sig = dpm_timesteps(cfg, n, ac)
    sig = sig.astype(np.float64)
    r.timesteps, r.sigmas = [int(t) for t in ts], [float(s) for s in sig]

    def al(s):
        a = 1 / math.sqrt(s * s + 1)
        st = s * a
        lam_ = math.log(a) - (math.log(st) if st > 0 else -math.inf)
        return a, st, lam_

    x = base_sample().astype(np.float64)
    outs, lower = [], 0
    order = cfg["solver_order"]
    cnt = len(ts)
    for k in range(min(steps, cnt)):
        a_s, s_s, _ = al(sig[k])
        m = model_output(k).astype(np.float64)
        p = cfg["prediction_type"]
        x0 = (x - s_s * m) / a_s if p == "epsilon" else a_s * x - s_s * m if p == "v_prediction" else m
        if cfg["thresholding"]:
            x0 = clip_or_threshold(x0, cfg)
        x0 = x0.astype(F32).astype(np.float64)
        outs = (outs + [x0])[-order:]
        final_low = k == cnt - 1 and (cfg["euler_at_final"] or (cfg["lower_order_final"] and cnt < 15) or cfg["final_sigmas_type"] == "zero")
        second_low = k == cnt - 2 and cfg["lower_order_final"] and cnt < 15
        at, st, lt = al(sig[k + 1])
        _, s0, l0 = al(sig[k])
        h = lt - l0
        em = math.exp(-h) - 1
        if order == 1 or lower < 1 or final_low:
            new = (st / s0) * x - at * em * outs[-1]
        elif order == 2 or lower < 2 or second_low:
            _, _, l1 = al(sig[k - 1])
            r0 = (l0 - l1) / h
            D0, D1 = outs[-1], (outs[-1] - outs[-2]) / r0
            if cfg["solver_type"] == "midpoint":
                new = (st / s0) * x - at * em * D0 - 0.5 * at * em * D1
            else:
                new = (st / s0) * x - at * em * D0 + at * (em / h + 1) * D1
        else:
            _, _, l1 = al(sig[k - 1])
            _, _, l2 = al(sig[k - 2])
            r0, r1 = (l0 - l1) / h, (l1 - l2) / h
            m0, m1, m2 = outs[-1], outs[-2], outs[-3]
            D10, D11 = (m0 - m1) / r0, (m1 - m2) / r1
            D1 = D10 + r0 / (r0 + r1) * (D10 - D11)
            D2 = (D10 - D11) / (r0 + r1)
            new = (st / s0) * x - at * em * m0 + at * (em / h + 1) * D1 - at * ((em + h) / h ** 2 - 0.5) * D2
        lower = min(lower + 1, order)
        x = new.astype(F32).astype(np.float64)
        r.steps.append((x, x0))
    return r


def lcm(cfg, n, steps):
    r = Run("lcm", cfg, n)
    ac = alphas_cumprod_of(cfg)
    final = 1.0 if cfg["set_alpha_to_one"] else float(ac[0])
    ts = lcm_timesteps(cfg, n)
    r.timesteps = [int(t) for t in ts]
    x = base_sample().astype(np.float64)
    for k in range(min(steps, len(ts))):
        t = int(ts[k])
        tp = int(ts[k + 1]) if k + 1 < len(ts) else t
        a = float(ac[t])
        ap = float(ac[tp]) if tp >= 0 else final
        sc = t * cfg["timestep_scaling"]
        c_skip = 0.25 / (sc ** 2 + 0.25)
        c_out = sc / math.sqrt(sc ** 2 + 0.25)
        x0, _ = x0_eps(cfg["prediction_type"], a, x, model_output(k))
        x0 = clip_or_threshold(x0, cfg)
        den = c_out * x0 + c_skip * x
        new = math.sqrt(ap) * den + math.sqrt(1 - ap) * noise(k).astype(np.float64) if k != len(ts) - 1 else den
        x = new.astype(F32).astype(np.float64)
        r.steps.append((x, den))
    return r


RUNNERS = {"ddim": ddim, "ddpm": ddpm, "pndm": pndm, "euler": euler,
           "euler-ancestral": lambda c, n, s: euler(c, n, s, ancestral=True), "dpm-solver++": dpm, "lcm": lcm}


def run_case(name, cfg, n, steps, options):
    if options.get("eta"):
        return ddim(cfg, n, steps, eta=options["eta"])
    return RUNNERS[name](cfg, n, steps)


def add_noise_ref(name, cfg, run):
    """add_noise(base sample, noise(99), timesteps[1])."""
    t = run.timesteps[1] if len(run.timesteps) > 1 else run.timesteps[0]
    x = base_sample().astype(np.float64)
    z = noise(99).astype(np.float64)
    if name in ("euler", "euler-ancestral", "dpm-solver++"):
        first = run.timesteps.index(t)
        idx = first
        if t in run.timesteps[first + 1:]:
            idx = run.timesteps.index(t, first + 1)
        s = float(run.sigmas[idx])
        if name == "dpm-solver++":
            a = 1 / math.sqrt(s * s + 1)
            return t, a * x + s * a * z
        return t, x + s * z
    ac = alphas_cumprod_of(cfg)
    a = float(ac[int(t)])
    return t, math.sqrt(a) * x + math.sqrt(1 - a) * z


def r9(v):
    return [float("%.9g" % float(x)) for x in np.asarray(v).reshape(-1)]


SD15 = {  # stable-diffusion-v1-5 scheduler/scheduler_config.json
    "_class_name": "PNDMScheduler", "_diffusers_version": "0.6.0", "beta_end": 0.012, "beta_schedule": "scaled_linear",
    "beta_start": 0.00085, "num_train_timesteps": 1000, "set_alpha_to_one": False, "skip_prk_steps": True,
    "steps_offset": 1, "trained_betas": None, "clip_sample": False,
}
SD21 = {  # stable-diffusion-2-1 scheduler/scheduler_config.json
    "_class_name": "DDIMScheduler", "_diffusers_version": "0.8.0", "beta_end": 0.012, "beta_schedule": "scaled_linear",
    "beta_start": 0.00085, "clip_sample": False, "num_train_timesteps": 1000, "prediction_type": "v_prediction",
    "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1, "trained_betas": None,
}
SD_BASE = {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012, "steps_offset": 1,
           "clip_sample": False, "set_alpha_to_one": False}


def cases():
    out = []
    for name in RUNNERS:
        spacings = ["leading"] if name == "lcm" else ["leading", "trailing", "linspace"]
        for pred in ["epsilon", "v_prediction"]:
            for sp in spacings:
                out.append((name, f"{name}/sd-{pred}-{sp}", dict(SD_BASE, prediction_type=pred, timestep_spacing=sp), 7, 99))
        out.append((name, f"{name}/defaults", {}, 10, 99))
        # PNDM and Euler ancestral have no 'sample' prediction in diffusers.
        pred = "v_prediction" if name in ("pndm", "euler-ancestral") else "sample"
        out.append((name, f"{name}/cosine-{pred}", {"beta_schedule": "squaredcos_cap_v2", "prediction_type": pred}, 5, 99))
    out += [
        ("ddim", "ddim/zero-snr-trailing-v", dict(SD_BASE, rescale_betas_zero_snr=True, timestep_spacing="trailing", prediction_type="v_prediction"), 6, 99),
        ("ddim", "ddim/thresholding", dict(SD_BASE, thresholding=True, sample_max_value=1.5, dynamic_thresholding_ratio=0.9), 5, 99),
        ("ddpm", "ddpm/clip-fixed-large", dict(SD_BASE, clip_sample=True, clip_sample_range=0.8, variance_type="fixed_large"), 6, 99),
        ("ddpm", "ddpm/fixed-small-log", dict(SD_BASE, variance_type="fixed_small_log"), 6, 99),
        ("pndm", "pndm/prk-sd", dict(SD_BASE, skip_prk_steps=False), 6, 99),
        ("pndm", "pndm/sd15-config", SD15, 50, 8),
        ("pndm", "pndm/plms-v", dict(SD_BASE, skip_prk_steps=True, prediction_type="v_prediction"), 8, 99),
        ("ddim", "ddim/sd21-config", SD21, 50, 6),
        ("euler", "euler/sd21-config", SD21, 30, 6),
        ("euler", "euler/karras-v", dict(SD_BASE, use_karras_sigmas=True, prediction_type="v_prediction"), 8, 99),
        ("euler", "euler/karras-leading-sigma-min", dict(SD_BASE, use_karras_sigmas=True, timestep_spacing="leading", final_sigmas_type="sigma_min", sigma_max=10.0), 8, 99),
        ("euler", "euler/zero-snr-trailing", dict(SD_BASE, rescale_betas_zero_snr=True, timestep_spacing="trailing", prediction_type="v_prediction"), 6, 99),
        ("euler", "euler/continuous-v", dict(SD_BASE, timestep_type="continuous", prediction_type="v_prediction"), 6, 99),
        ("dpm-solver++", "dpm-solver++/sd21-30", dict(SD21, _class_name="DPMSolverMultistepScheduler"), 30, 99),
        ("dpm-solver++", "dpm-solver++/karras", dict(SD_BASE, use_karras_sigmas=True), 8, 99),
        ("dpm-solver++", "dpm-solver++/order3-heun-sigma-min", dict(SD_BASE, solver_order=3, solver_type="heun", final_sigmas_type="sigma_min"), 9, 99),
        ("dpm-solver++", "dpm-solver++/order3-20", dict(SD_BASE, solver_order=3, final_sigmas_type="sigma_min"), 20, 99),
        ("dpm-solver++", "dpm-solver++/thresholding-sample", dict(SD_BASE, thresholding=True, prediction_type="sample", sample_max_value=1.2), 5, 99),
        ("dpm-solver++", "dpm-solver++/cosine-clipped", dict(beta_schedule="squaredcos_cap_v2", lambda_min_clipped=-5.1), 10, 99),
        ("dpm-solver++", "dpm-solver++/karras-cosine-truncated", dict(beta_schedule="squaredcos_cap_v2", use_karras_sigmas=True), 3, 99),
        ("dpm-solver++", "dpm-solver++/karras-v-25", dict(SD_BASE, use_karras_sigmas=True, prediction_type="v_prediction"), 25, 99),
        ("ddim", "ddim/sd-trailing-48", dict(SD_BASE, timestep_spacing="trailing"), 48, 4),
        ("ddim", "ddim/eta-0.5-sd-epsilon", dict(SD_BASE), 8, 99, {"eta": 0.5}),
        ("ddim", "ddim/eta-1-v-trailing-clip", dict(SD_BASE, prediction_type="v_prediction", timestep_spacing="trailing", clip_sample=True), 6, 99, {"eta": 1.0}),
        ("lcm", "lcm/4-steps", {}, 4, 99),
        ("lcm", "lcm/v-clip-orig-30", dict(prediction_type="v_prediction", clip_sample=True, original_inference_steps=30), 7, 99),
    ]
    return out


# ---------------------------------------------------------------- every step count: timesteps
def timesteps_hash(ts):
    """First 16 hex digits of sha256 over the timesteps as little-endian float64 (exact for int and float32 values)."""
    return hashlib.sha256(np.asarray(ts, dtype="<f8").tobytes()).hexdigest()[:16]


SPACINGS = ["leading", "trailing", "linspace"]
COSINE = {"beta_schedule": "squaredcos_cap_v2"}
# id, the pmg schedulers that share diffusers' code for it, config, spacings, smallest and largest step count.
FAMILIES = [
    ("ddim-ddpm", ["ddim", "ddpm"], dict(SD_BASE), SPACINGS, 1, 1000),
    ("pndm-plms", ["pndm"], dict(SD_BASE, skip_prk_steps=True), SPACINGS, 1, 1000),
    ("pndm-prk", ["pndm"], dict(SD_BASE, skip_prk_steps=False), SPACINGS, 4, 1000),
    ("euler", ["euler", "euler-ancestral"], dict(SD_BASE), SPACINGS, 1, 1000),
    ("dpm-solver++", ["dpm-solver++"], dict(SD_BASE), SPACINGS, 1, 1000),
    ("dpm-solver++-cosine-clipped", ["dpm-solver++"], dict(COSINE, lambda_min_clipped=-5.1), SPACINGS, 1, 1000),
    ("dpm-solver++-karras", ["dpm-solver++"], dict(SD_BASE, use_karras_sigmas=True), ["linspace"], 1, 1000),
    ("dpm-solver++-karras-cosine", ["dpm-solver++"], dict(COSINE, use_karras_sigmas=True), ["linspace"], 1, 1000),
    ("lcm", ["lcm"], {}, ["leading"], 1, 50),
]
FULL_COUNTS = [1, 2, 3, 4, 7, 48, 96, 112, 144, 999, 1000]


def family_timesteps(scheduler, cfg, n):
    if scheduler in ("ddim", "ddpm"):
        return spaced(cfg, n)
    if scheduler == "pndm":
        prk, plms = pndm_timesteps(cfg, n)
        return np.concatenate([prk, plms])
    if scheduler in ("euler", "euler-ancestral"):
        return sigma_schedule(cfg, n, scheduler == "euler-ancestral")[0]
    if scheduler == "dpm-solver++":
        return dpm_timesteps(cfg, n, alphas_cumprod_of(cfg, zero_snr_floor=True))[0]
    return lcm_timesteps(cfg, n)


def timestep_families():
    out = []
    for fid, schedulers, overrides, spacings, low, high in FAMILIES:
        for spacing in spacings:
            cfg = dict(DEFAULTS[schedulers[0]])
            cfg.update({k: v for k, v in dict(overrides, timestep_spacing=spacing).items() if k in cfg})
            hashes, full = [], {}
            for n in range(1, 1001):
                if n < low or n > high:
                    hashes.append(None)
                    continue
                ts = family_timesteps(schedulers[0], cfg, n)
                hashes.append(timesteps_hash(ts))
                if n in FULL_COUNTS:
                    full[str(n)] = [float(t) for t in ts]
            out.append({"id": f"{fid}/{spacing}", "schedulers": schedulers, "config": dict(overrides, timestep_spacing=spacing),
                        "hashes": hashes, "full": full})
    return out


def euler_karras_timesteps():
    """Euler with Karras sigmas: fractional float32 timesteps from _sigma_to_t, whose float32 log-sigmas come from
    numpy's float32 log (not correctly rounded on every CPU), so they are compared within a tolerance, in full."""
    out = []
    for spacing in SPACINGS:
        overrides = dict(SD_BASE, use_karras_sigmas=True, timestep_spacing=spacing)
        cfg = dict(DEFAULTS["euler"])
        cfg.update({k: v for k, v in overrides.items() if k in cfg})
        full = {str(n): [float(t) for t in sigma_schedule(cfg, n, False)[0]] for n in list(range(1, 31)) + [48, 50, 100, 250]}
        out.append({"id": f"euler-karras/{spacing}", "schedulers": ["euler"], "config": overrides, "full": full})
    return out


# ---------------------------------------------------------------- training tables
TABLES = [
    ("linear (DDPM defaults)", {}),
    ("scaled_linear (Stable Diffusion)", {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012}),
    ("squaredcos_cap_v2", COSINE),
    ("scaled_linear, rescale_betas_zero_snr", {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012, "rescale_betas_zero_snr": True}),
]


def tables():
    out = []
    for label, overrides in TABLES:
        cfg = dict(DEFAULTS["ddim"], **overrides)
        betas = betas_of(cfg)
        ac = torch.cumprod(1.0 - betas, dim=0).numpy()
        sigmas = [s if math.isfinite(s) else None for s in r9(train_sigmas(ac))]  # null: infinite (zero terminal SNR)
        entry = {"label": label, "config": overrides, "betas": r9(betas.numpy()), "alphas_cumprod": r9(ac),
                 "sigmas": sigmas, "cumprod_check": cumprod_is_float64_running_product(betas)}
        out.append(entry)
    return out


def write(root, name, doc):
    path = os.path.join(root, name)
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(path, os.path.getsize(path), "bytes", file=sys.stderr)


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "schedulers", "reference")
    os.makedirs(root, exist_ok=True)
    versions = {"torch": torch.__version__, "numpy": np.__version__, "python": sys.version.split()[0]}
    by_name = {}
    for case in cases():
        name, cid, overrides, n, steps = case[:5]
        options = case[5] if len(case) > 5 else {}
        cfg = dict(DEFAULTS[name])
        cfg.update({k: v for k, v in overrides.items() if k in cfg})
        run = run_case(name, cfg, n, steps, options)
        t_add, added = add_noise_ref(name, cfg, run)
        entry = {
            "id": cid, "scheduler": name, "config": overrides, "num_inference_steps": n,
            "timesteps": [float("%.9g" % t) for t in run.timesteps],
            "init_noise_sigma": float("%.9g" % run.init_noise_sigma),
            "steps": [{"prev_sample": r9(x), "pred_original_sample": r9(x0)} for x, x0 in run.steps],
            "add_noise": {"timestep": float("%.9g" % t_add), "noisy": r9(added)},
        }
        if options:
            entry["step_options"] = options
        if run.sigmas is not None:
            entry["sigmas"] = r9(run.sigmas)
        if getattr(run, "scaled", None):
            entry["scaled_model_input"] = [r9(v) for v in run.scaled[:2]]
        by_name.setdefault(name, []).append(entry)
    about = ("Reference values for pmg's scheduler tests, made by scripts/reference/schedulers.py: training tables with torch "
             "as diffusers builds them, timesteps with numpy as diffusers' set_timesteps, steps from diffusers' formulas in "
             "float64. Do not edit by hand.")
    for name, entries in by_name.items():
        write(root, name.replace("+", "p") + ".json", {
            "about": about,
            "shape": SHAPE,
            "inputs": {
                "sample": "sin(0.37 i + 0.1), times init_noise_sigma",
                "model_output": "0.6 cos(0.23 i + 0.5 k) + 0.1 sin(0.05 i k) at step k",
                "noise": "sin(0.71 i + 1.3 k + 0.2) at step k; add_noise uses k = 99",
            },
            "versions": versions,
            "cases": entries,
        })
    write(root, "timesteps.json", {
        "about": about + " hashes[n - 1] is timesteps_hash(timesteps for n steps) (null: n not covered); full: every timestep for a few n.",
        "hash": "first 16 hex digits of sha256 over the timesteps as little-endian float64",
        "versions": versions,
        "families": timestep_families(),
        "tolerance_families": euler_karras_timesteps(),
    })
    write(root, "tables.json", {
        "about": about + " betas, alphas_cumprod and sigmas are float32 values (9 significant digits round-trip them exactly).",
        "versions": versions,
        "num_train_timesteps": 1000,
        "tables": tables(),
    })


if __name__ == "__main__":
    main()
