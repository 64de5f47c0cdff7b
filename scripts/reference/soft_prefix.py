"""Reference values for pmg's soft module arithmetic (src/soft/prefix-cache.ts, soft-import.ts, soft-embeddings.ts).

Independent of pmg's TypeScript; follows the public PyTorch code:
- PEFT's prefix layout, `PeftModel.get_prompt` (huggingface/peft commit 5d602fdb, src/peft/peft_model.py): the
  encoder output [batch, P, layers*2*token_dim] is viewed as [batch, P, layers*2, heads, token_dim // heads],
  permuted with [2, 0, 3, 1, 4] and split in pairs; with grouped-query attention PEFT sets heads = num_key_value_heads
  and token_dim = head_dim * num_key_value_heads (src/peft/utils/other.py, _prepare_prompt_learning_config).
- P-Tuning v2's PrefixEncoder with prefix_projection (THUDM/P-tuning-v2 model/prefix_encoder.py; the same module in
  PEFT's src/peft/tuners/prefix_tuning/model.py): Embedding(P, hidden) -> Linear(hidden, prefix_hidden) -> Tanh ->
  Linear(prefix_hidden, layers*2*hidden) — here with the key/value width layers*2*kvHeads*headDim.
- The PMG PyTorch port's InferenceModel (INTREBID/PMG pmg/models/soft_prompt.py): its own view
  [bsz, P, layers, 2, heads, -1].permute(2, 3, 0, 4, 1, 5); checked here to give the same tensors as PEFT's.
- mapping_layer: torch.nn.Linear(hidden, condWidth), y = x W^T + b.
- The state-dict file is written in the safetensors format (8-byte little-endian header length, JSON header with
  dtype/shape/data_offsets, header padded with spaces to a multiple of 8, raw little-endian C-order bytes), as the
  safetensors library's serialize does; it is stored base64 in the JSON so the test needs no binary fixture.

Run with Debian's python3 (torch 1.13): /usr/bin/python3 scripts/reference/soft_prefix.py
Writes src/soft/reference/soft-prefix.json.
"""
import base64
import json
import os
import struct
import sys

# scripts/reference/random.py would shadow the standard library's random module (numpy imports it).
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import numpy as np  # noqa: E402
import torch  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "src", "soft", "reference", "soft-prefix.json")

P, LAYERS, HEADS, KV_HEADS, HEAD_DIM, HIDDEN, PREFIX_HIDDEN, N, COND = 3, 2, 4, 2, 4, 40, 4, 2, 6
WIDTH = LAYERS * 2 * KV_HEADS * HEAD_DIM

gen = torch.Generator().manual_seed(20261130)


def randn(*shape):
    return torch.randn(*shape, generator=gen, dtype=torch.float32)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def peft_layout(table):
    """PEFT get_prompt: [P, width] -> per layer (key, value), each [1, kvHeads, P, headDim]."""
    pkv = table.unsqueeze(0).view(1, P, LAYERS * 2, KV_HEADS, HEAD_DIM)
    pairs = pkv.permute([2, 0, 3, 1, 4]).split(2)
    return [(pair[0], pair[1]) for pair in pairs]


def port_layout(table):
    """The PMG port's InferenceModel layout."""
    pkv = table.unsqueeze(0).view(1, P, LAYERS, 2, KV_HEADS, -1).permute(2, 3, 0, 4, 1, 5)
    return [(pkv[i, 0], pkv[i, 1]) for i in range(LAYERS)]


def layout_json(layers):
    return [{"key": flat(k), "value": flat(v), "shape": list(k.shape)} for k, v in layers]


def safetensors_bytes(tensors):
    """tensors: list of (name, numpy array); dtype from the array."""
    codes = {np.dtype("float32"): "F32", np.dtype("float16"): "F16", np.dtype("int64"): "I64"}
    header, offset, blobs = {}, 0, []
    for name, array in tensors:
        data = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": codes[array.dtype], "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - (len(text.encode()) + 8) % 8) % 8)
    encoded = text.encode()
    return struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs)


with torch.no_grad():
    # 1. A plain prefix table and its cache.
    table = randn(P, WIDTH)
    peft = peft_layout(table)
    port = port_layout(table)
    for (k1, v1), (k2, v2) in zip(peft, port):
        assert torch.equal(k1, k2) and torch.equal(v1, v2), "PEFT and the PMG port disagree"

    # 2. P-Tuning v2's PrefixEncoder with prefix_projection.
    embedding = torch.nn.Embedding(P, HIDDEN)
    trans = torch.nn.Sequential(torch.nn.Linear(HIDDEN, PREFIX_HIDDEN), torch.nn.Tanh(), torch.nn.Linear(PREFIX_HIDDEN, WIDTH))
    for param in [embedding.weight, *trans.parameters()]:
        param.copy_(randn(*param.shape))
    mlp_table = trans(embedding(torch.arange(P)))

    # 3. The mapping layer on hidden states.
    mapping = torch.nn.Linear(HIDDEN, COND)
    mapping.weight.copy_(randn(COND, HIDDEN))
    mapping.bias.copy_(randn(COND))
    states = randn(N, HIDDEN)
    mapped = mapping(states)

    tokens = randn(1, N, HIDDEN)

    # 4. State dicts in the PyTorch layouts.
    port_file = safetensors_bytes([
        ("mapping_layer.weight", mapping.weight.numpy()),
        ("mapping_layer.bias", mapping.bias.numpy()),
        ("trainable_prompt", tokens.numpy()),
        ("prefix_tokens", np.arange(P, dtype=np.int64)),
        ("prefix_encoder.embedding.weight", table.numpy()),
    ])
    mlp_file = safetensors_bytes([
        ("module.prefix_encoder.embedding.weight", embedding.weight.numpy().astype(np.float16)),
        ("module.prefix_encoder.trans.0.weight", trans[0].weight.numpy().astype(np.float16)),
        ("module.prefix_encoder.trans.0.bias", trans[0].bias.numpy().astype(np.float16)),
        ("module.prefix_encoder.trans.2.weight", trans[2].weight.numpy().astype(np.float16)),
        ("module.prefix_encoder.trans.2.bias", trans[2].bias.numpy().astype(np.float16)),
        ("module.trainable_prompt", tokens.numpy()[0]),
        ("module.mapping_layer.weight", mapping.weight.numpy()),
        ("module.mapping_layer.bias", mapping.bias.numpy()),
    ])
    # The fp16 file's table, computed in float32 from the fp16-rounded weights (what pmg reads).
    half = lambda t: torch.from_numpy(t.numpy().astype(np.float16).astype(np.float32))  # noqa: E731
    emb16 = half(embedding.weight)
    hidden16 = torch.tanh(emb16 @ half(trans[0].weight).T + half(trans[0].bias))
    mlp16_table = hidden16 @ half(trans[2].weight).T + half(trans[2].bias)

reference = {
    "made_by": "scripts/reference/soft_prefix.py",
    "torch": torch.__version__,
    "numpy": np.__version__,
    "sizes": {"P": P, "layers": LAYERS, "heads": HEADS, "kvHeads": KV_HEADS, "headDim": HEAD_DIM, "hidden": HIDDEN, "prefixHidden": PREFIX_HIDDEN, "N": N, "condWidth": COND, "width": WIDTH},
    "table": flat(table),
    "tableLayout": layout_json(peft),
    "mlp": {
        "embedding": flat(embedding.weight),
        "weight0": flat(trans[0].weight),
        "bias0": flat(trans[0].bias),
        "weight2": flat(trans[2].weight),
        "bias2": flat(trans[2].bias),
        "table": flat(mlp_table),
        "layout": layout_json(peft_layout(mlp_table)),
    },
    "map": {"weight": flat(mapping.weight), "bias": flat(mapping.bias), "states": flat(states), "mapped": flat(mapped)},
    "tokens": flat(tokens),
    "files": {
        "port": base64.b64encode(port_file).decode(),
        "mlpHalf": base64.b64encode(mlp_file).decode(),
        "mlpHalfTable": flat(mlp16_table),
    },
}

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump(reference, f, indent=1)
    f.write("\n")
print(f"wrote {os.path.normpath(OUT)}")
