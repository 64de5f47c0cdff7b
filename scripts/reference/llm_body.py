#!/usr/bin/python3
"""Reference hidden states for the LLM-body fixtures (src/fixtures/tiny-llm-body.ts, and prepare-soft of the tiny
LLM), following Hugging Face transformers' own arithmetic for a Llama decoder with a past key/value cache (read in
src/transformers/models/llama/modeling_llama.py at the mirror's HEAD, November 2026; transformers is not installed
here), re-typed in torch from that description:

- LlamaRMSNorm: h * rsqrt(mean(h^2, -1) + eps), times the weight.
- LlamaRotaryEmbedding: inv_freq = 1 / theta^(arange(0, d, 2) / d); freqs = position * inv_freq;
  emb = cat(freqs, freqs); apply_rotary_pos_emb: x * cos + rotate_half(x) * sin, rotate_half(x) = cat(-x2, x1).
- LlamaAttention: q/k/v projections (no bias), RoPE on q and on the NEW keys only; the cache update concatenates
  the past keys/values (used as they are) in front; repeat_kv for grouped-query heads; softmax(q k^T / sqrt(d) +
  mask) v; o_proj.
- LlamaModel: with a cache of P entries, cache_position = arange(P, P + T) and position_ids = cache_position (so the
  tokens sit at positions P..P+T-1); the causal mask lets query i see keys 0..P+i (an all-ones attention mask of
  P + T); each layer x + attn(input_layernorm(x)), then x + down(silu(gate(h)) * up(h)) on
  post_attention_layernorm(x); the final norm. inputs_embeds is used as given (P-Tuning v2 / the soft branch feed
  embeddings and a prefix cache exactly this way: PEFT passes the prefix as past_key_values).

The module loads the fixture's weights with load_state_dict(strict=True) under Hugging Face's names (exported by
scripts/reference/export-llm-body-fixture.mjs from src/fixtures/tiny-llm.ts; pmg's weights, that is the point:
pmg's ONNX graphs against transformers' arithmetic on one set of numbers). The cases' token ids, prefix caches and
free "soft" token vectors are drawn here (numpy RandomState(20261130), float32) and computed in float64.

Run from the repository root (torch 1.13, Debian's python3):
    npx tsc -p . --outDir .build/ref && node scripts/reference/export-llm-body-fixture.mjs .build/ref
    /usr/bin/python3 scripts/reference/llm_body.py
Writes src/runtime/reference/llm-body.json.
"""
import base64
import datetime
import json
import math
import os
import platform
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# scripts/reference/random.py would shadow the standard library's `random` (numpy imports it): drop this folder.
sys.path = [p for p in sys.path if os.path.abspath(p or '.') != HERE]
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
WEIGHTS = os.path.join(ROOT, '.build', 'ref', 'llm-body-weights.json')
OUT = os.path.join(ROOT, 'src', 'runtime', 'reference', 'llm-body.json')


class RMSNorm(nn.Module):
    def __init__(self, hidden, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden))
        self.eps = eps

    def forward(self, h):
        return self.weight * (h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = c['num_attention_heads'], c['num_key_value_heads'], c['head_dim']
        self.theta = c['rope_theta']
        hidden = c['hidden_size']
        self.q_proj = nn.Linear(hidden, self.heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(hidden, self.kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(hidden, self.kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(self.heads * self.head_dim, hidden, bias=False)

    def forward(self, x, positions, past_key, past_value):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        inv_freq = 1.0 / (self.theta ** (torch.arange(0, self.head_dim, 2, dtype=torch.float64) / self.head_dim))
        freqs = positions.to(torch.float64)[:, None] * inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        keys = torch.cat((past_key, k), dim=2)
        values = torch.cat((past_value, v), dim=2)
        repeat = self.heads // self.kv_heads
        keys_r = keys[:, :, None].expand(b, self.kv_heads, repeat, keys.shape[2], self.head_dim).reshape(b, self.heads, keys.shape[2], self.head_dim)
        values_r = values[:, :, None].expand(b, self.kv_heads, repeat, keys.shape[2], self.head_dim).reshape(b, self.heads, keys.shape[2], self.head_dim)
        past = past_key.shape[2]
        total = past + t
        allowed = torch.arange(total)[None, :] <= (past + torch.arange(t))[:, None]
        mask = torch.zeros(t, total, dtype=x.dtype).masked_fill(~allowed, float('-inf'))
        scores = q @ keys_r.transpose(2, 3) / math.sqrt(self.head_dim) + mask
        out = torch.softmax(scores, dim=-1) @ values_r
        return self.o_proj(out.transpose(1, 2).reshape(b, t, self.heads * self.head_dim))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        hidden, inter = c['hidden_size'], c['intermediate_size']
        self.input_layernorm = RMSNorm(hidden, c['rms_norm_eps'])
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(hidden, c['rms_norm_eps'])
        self.mlp = nn.Module()
        self.mlp.gate_proj = nn.Linear(hidden, inter, bias=False)
        self.mlp.up_proj = nn.Linear(hidden, inter, bias=False)
        self.mlp.down_proj = nn.Linear(inter, hidden, bias=False)

    def forward(self, x, positions, past_key, past_value):
        x = x + self.self_attn(self.input_layernorm(x), positions, past_key, past_value)
        h = self.post_attention_layernorm(x)
        return x + self.mlp.down_proj(nn.functional.silu(self.mlp.gate_proj(h)) * self.mlp.up_proj(h))


class Body(nn.Module):
    """LlamaModel without its own embedding lookup use: takes inputs_embeds and a past cache, returns the final norm."""

    def __init__(self, c):
        super().__init__()
        self.model = nn.Module()
        self.model.embed_tokens = nn.Embedding(c['vocab_size'], c['hidden_size'])
        self.model.layers = nn.ModuleList([Layer(c) for _ in range(c['num_hidden_layers'])])
        self.model.norm = RMSNorm(c['hidden_size'], c['rms_norm_eps'])

    def forward(self, embeds, past_keys, past_values):
        past = past_keys[0].shape[2]
        positions = torch.arange(past, past + embeds.shape[1])
        x = embeds
        for layer, key, value in zip(self.model.layers, past_keys, past_values):
            x = layer(x, positions, key, value)
        return self.model.norm(x)


def b64(array):
    return base64.b64encode(np.ascontiguousarray(array, dtype='<f4').tobytes()).decode('ascii')


def main():
    with open(WEIGHTS) as f:
        exported = json.load(f)
    c = exported['config']
    state = {t['name']: torch.from_numpy(np.frombuffer(base64.b64decode(t['float32_base64']), dtype='<f4').reshape(t['dims']).copy()) for t in exported['tensors']}
    body = Body(c)
    body.load_state_dict(state, strict=True)
    body = body.double().eval()
    table = state['model.embed_tokens.weight'].numpy()
    rng = np.random.RandomState(20261130)
    layers, kv, hd, hidden = c['num_hidden_layers'], c['num_key_value_heads'], c['head_dim'], c['hidden_size']
    cases = []
    for name, tokens, prefix, soft in [('tokens, no prefix', 7, 0, 0), ('prefix P=3, tokens and 2 soft tokens', 5, 3, 2), ('prefix P=4, 4 soft tokens only', 0, 4, 4)]:
        ids = rng.randint(3, c['vocab_size'], size=tokens).tolist()
        keys = [rng.standard_normal((1, kv, prefix, hd)).astype(np.float32) for _ in range(layers)]
        values = [rng.standard_normal((1, kv, prefix, hd)).astype(np.float32) for _ in range(layers)]
        extra = rng.standard_normal((soft, hidden)).astype(np.float32)
        embeds = np.concatenate([table[ids], extra], axis=0)[None]
        with torch.no_grad():
            out = body(torch.from_numpy(embeds).double(), [torch.from_numpy(k).double() for k in keys], [torch.from_numpy(v).double() for v in values])
        cases.append({
            'name': name,
            'ids': ids,
            'prefix_length': prefix,
            'prefix_keys': [b64(k) for k in keys],
            'prefix_values': [b64(v) for v in values],
            'soft_tokens': soft,
            'soft_float32_base64': b64(extra),
            'hidden_float32_base64': b64(out[0].numpy()),
        })
    result = {
        'made_by': 'scripts/reference/llm_body.py',
        'follows': "Hugging Face transformers' Llama decoder with a past key/value cache (modeling_llama.py), re-typed in torch; computed in float64",
        'made_with': {'python': platform.python_version(), 'torch': torch.__version__, 'numpy': np.__version__, 'date': datetime.date.today().isoformat()},
        'config': {k: c[k] for k in ('hidden_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'head_dim', 'vocab_size', 'rope_theta', 'rms_norm_eps')},
        'cases': cases,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump(result, f, indent=1)
        f.write('\n')
    print('wrote', OUT)


if __name__ == '__main__':
    main()
