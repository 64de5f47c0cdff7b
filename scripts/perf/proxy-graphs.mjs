// Full-size PROXY graphs for measurements of engineer C's levers (issue 10): not SD itself, but the parts that set
// its memory and speed. Build first (npx tsc -p .); these import the project's GraphBuilder from dist/.
//
//  - unetTop(): the full-resolution level of the SD 1.5 UNet (320 channels, 8 heads x 40, cross-attention on 77x768,
//    GEGLU feed-forward 1280): conv_in, then `blocks` x (ResnetBlock + Transformer2D), then conv_out. Its
//    self-attention maps [B, 8, N, N] dominate the real UNet's peak memory at 512 px.
//  - bigStack(): many Conv/MatMul weights (about `params` parameters) at small spatial size, for session creation
//    and weight-format measurements (the real UNet has 859.5 M parameters in ~2000 nodes).
import { float32ToFloat16 } from '../../dist/core/float16.js';
import { SeededRandom } from '../../dist/core/random.js';
import { DataType, GraphBuilder, attr } from '../../dist/fixtures/onnx-graph.js';

class W {
  /** `half`: fp16 weights and activations (as fp16 exports are), else fp32. */
  constructor(g, seed, half = false) {
    this.g = g;
    this.r = new SeededRandom(seed);
    this.half = half;
    this.type = half ? DataType.FLOAT16 : DataType.FLOAT;
  }
  tensor(dims, values) {
    if (!this.half) return this.g.float(dims, values);
    return this.g.initializer(this.g.fresh('h'), DataType.FLOAT16, dims, float32ToFloat16(values));
  }
  normal(dims, std) {
    const n = dims.reduce((a, b) => a * b, 1);
    return this.tensor(dims, this.r.fillGaussian(new Float32Array(n), std));
  }
  ones(n, v = 1) {
    return this.tensor([n], new Float32Array(n).fill(v));
  }
  scalar(v) {
    return this.tensor([], Float32Array.of(v));
  }
  conv(x, cin, cout, k) {
    const pad = (k - 1) / 2;
    return this.g.op('Conv', [x, this.normal([cout, cin, k, k], 1 / Math.sqrt(cin * k * k)), this.normal([cout], 0.01)], {
      kernel_shape: attr.ints([k, k]),
      pads: attr.ints([pad, pad, pad, pad]),
    });
  }
  gn(x, c) {
    return this.g.op('GroupNormalization', [x, this.ones(c), this.ones(c, 0)], { num_groups: attr.int(32), epsilon: attr.float(1e-5) });
  }
  silu(x) {
    return this.g.op('Mul', [x, this.g.op('Sigmoid', [x])]);
  }
  linear(x, i, o, bias = false) {
    const y = this.g.op('MatMul', [x, this.normal([i, o], 1 / Math.sqrt(i))]);
    return bias ? this.g.op('Add', [y, this.normal([o], 0.01)]) : y;
  }
  ln(x, d) {
    return this.g.op('LayerNormalization', [x, this.ones(d), this.ones(d, 0)], { axis: attr.int(-1), epsilon: attr.float(1e-5) });
  }
  gelu(x) {
    const g = this.g;
    const erf = g.op('Erf', [g.op('Div', [x, this.scalar(Math.SQRT2)])]);
    return g.op('Mul', [g.op('Mul', [x, this.scalar(0.5)]), g.op('Add', [erf, this.scalar(1)])]);
  }
  attention(xq, xkv, dq, dkv, heads) {
    const g = this.g;
    const hd = dq / heads;
    const split = (t) => g.op('Transpose', [g.op('Reshape', [t, g.int64([0, -1, heads, hd])])], { perm: attr.ints([0, 2, 1, 3]) });
    const q = split(this.linear(xq, dq, dq));
    const k = split(this.linear(xkv, dkv, dq));
    const v = split(this.linear(xkv, dkv, dq));
    const s = Math.sqrt(1 / Math.sqrt(hd));
    // torch's scaled_dot_product_attention export: q and k^T each scaled by sqrt(scale).
    const scores = g.op('MatMul', [g.op('Mul', [q, this.scalar(s)]), g.op('Mul', [g.op('Transpose', [k], { perm: attr.ints([0, 1, 3, 2]) }), this.scalar(s)])]);
    const out = g.op('MatMul', [g.op('Softmax', [scores], { axis: attr.int(-1) }), v]);
    const merged = g.op('Reshape', [g.op('Transpose', [out], { perm: attr.ints([0, 2, 1, 3]) }), g.int64([0, -1, dq])]);
    return this.linear(merged, dq, dq, true);
  }
}

function resnet(w, h, c, temb) {
  const g = w.g;
  let r = w.conv(w.silu(w.gn(h, c)), c, c, 3);
  r = g.op('Add', [r, temb]);
  r = w.conv(w.silu(w.gn(r, c)), c, c, 3);
  return g.op('Add', [h, r]);
}

function transformer(w, h, c, heads, context, ctxDim) {
  const g = w.g;
  const shape = g.op('Shape', [h]);
  const flat = g.op('Transpose', [g.op('Reshape', [w.gn(h, c), g.int64([0, c, -1])])], { perm: attr.ints([0, 2, 1]) });
  let x = w.linear(flat, c, c, true);
  x = g.op('Add', [x, w.attention(w.ln(x, c), w.ln(x, c), c, c, heads)]);
  x = g.op('Add', [x, w.attention(w.ln(x, c), context, c, ctxDim, heads)]);
  const ff = w.linear(w.ln(x, c), c, 8 * c, true);
  const [a, gate] = g.node('Split', [ff, g.int64([4 * c, 4 * c])], 2, { axis: attr.int(-1) });
  x = g.op('Add', [x, w.linear(g.op('Mul', [a, w.gelu(gate)]), 4 * c, c, true)]);
  const back = g.op('Reshape', [g.op('Transpose', [w.linear(x, c, c, true)], { perm: attr.ints([0, 2, 1]) }), shape]);
  return g.op('Add', [h, back]);
}

/** The full-resolution level of SD 1.5's UNet. Inputs as the real UNet's: sample, timestep, encoder_hidden_states. */
export function unetTop({ blocks = 2, channels = 320, heads = 8, seed = 1 } = {}) {
  const g = new GraphBuilder('proxy_unet_top');
  const w = new W(g, seed);
  const sample = g.input('sample', DataType.FLOAT, ['batch', 4, 'height', 'width']);
  const timestep = g.input('timestep', DataType.INT64, [1]);
  const context = g.input('encoder_hidden_states', DataType.FLOAT, ['batch', 'tokens', 768]);
  const t = g.op('Reshape', [g.op('Cast', [timestep], { to: attr.int(DataType.FLOAT) }), g.int64([1, 1])]);
  const temb = g.op('Reshape', [w.linear(w.silu(w.linear(t, 1, channels)), channels, channels), g.int64([1, channels, 1, 1])]);
  let h = w.conv(sample, 4, channels, 3);
  for (let b = 0; b < blocks; b++) {
    h = resnet(w, h, channels, temb);
    h = transformer(w, h, channels, heads, context, 768);
  }
  g.output('out_sample', DataType.FLOAT, ['batch', 4, 'height', 'width']);
  g.op(
    'Conv',
    [w.silu(w.gn(h, channels)), w.normal([4, channels, 3, 3], 0.01), w.normal([4], 0.01)],
    { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]) },
    'out_sample',
  );
  return g;
}

/**
 * About `params` parameters in resnet + transformer blocks of SD's widths (320/640/1280) at a small spatial size:
 * what session creation and weight loading see of the real UNet (weights, node count, op mix).
 */
export function bigStack({ params = 860e6, seed = 2, half = false } = {}) {
  const g = new GraphBuilder('proxy_big_stack');
  const w = new W(g, seed, half);
  const sample = g.input('sample', w.type, ['batch', 4, 'height', 'width']);
  const context = g.input('encoder_hidden_states', w.type, ['batch', 'tokens', 768]);
  const widths = [320, 640, 1280, 1280];
  // Per block pair: resnet 2*9*c^2 + transformer ~ (4 + 2 + 12 + 2) c^2 (self/cross attention, GEGLU, proj in/out).
  const perPair = (c) => 18 * c * c + 20 * c * c;
  let h = w.conv(sample, 4, 320, 3);
  let c = 320;
  let total = 0;
  let level = 0;
  while (total < params) {
    const next = widths[Math.min(level, widths.length - 1)];
    if (next !== c) {
      h = w.conv(h, c, next, 1);
      c = next;
    }
    const zero = w.tensor([1, c, 1, 1], new Float32Array(c));
    h = resnet(w, h, c, zero);
    h = transformer(w, h, c, 8, context, 768);
    total += perPair(c);
    level++;
  }
  g.output('out_sample', w.type, ['batch', 4, 'height', 'width']);
  g.op('Conv', [h, w.normal([4, c, 3, 3], 0.01), w.normal([4], 0.01)], { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]) }, 'out_sample');
  return { graph: g, params: total };
}

function resnetIo(w, h, cin, cout) {
  const g = w.g;
  let r = w.conv(w.silu(w.gn(h, cin)), cin, cout, 3);
  r = w.conv(w.silu(w.gn(r, cout)), cout, cout, 3);
  const skip = cin === cout ? h : w.conv(h, cin, cout, 1);
  return g.op('Add', [skip, r]);
}

/** Single-head self-attention over the spatial positions of [B, C, H, W] (the VAE's mid-block attention). */
function spatialAttention(w, h, c) {
  const g = w.g;
  const shape = g.op('Shape', [h]);
  const flat = g.op('Transpose', [g.op('Reshape', [w.gn(h, c), g.int64([0, c, -1])])], { perm: attr.ints([0, 2, 1]) });
  const q = w.linear(flat, c, c, true);
  const k = w.linear(flat, c, c, true);
  const v = w.linear(flat, c, c, true);
  const scores = g.op('Mul', [g.op('MatMul', [q, g.op('Transpose', [k], { perm: attr.ints([0, 2, 1]) })]), g.scalarFloat(1 / Math.sqrt(c))]);
  const out = w.linear(g.op('MatMul', [g.op('Softmax', [scores], { axis: attr.int(-1) }), v]), c, c, true);
  return g.op('Add', [h, g.op('Reshape', [g.op('Transpose', [out], { perm: attr.ints([0, 2, 1]) }), shape])]);
}

/** The SD VAE decoder's architecture (AutoencoderKL, block_out_channels [128, 256, 512, 512], 2 layers per block + 1). */
export function vaeDecoder({ seed = 3 } = {}) {
  const g = new GraphBuilder('proxy_vae_decoder');
  const w = new W(g, seed);
  const z = g.input('latent_sample', DataType.FLOAT, ['batch', 4, 'height', 'width']);
  let h = w.conv(w.conv(z, 4, 4, 1), 4, 512, 3);
  h = resnetIo(w, h, 512, 512);
  h = spatialAttention(w, h, 512);
  h = resnetIo(w, h, 512, 512);
  const widths = [512, 512, 256, 128];
  let c = 512;
  widths.forEach((out, i) => {
    for (let r = 0; r < 3; r++) {
      h = resnetIo(w, h, c, out);
      c = out;
    }
    if (i < 3) {
      h = g.op('Resize', [h, '', g.float([4], [1, 1, 2, 2])], { mode: attr.string('nearest') });
      h = w.conv(h, c, c, 3);
    }
  });
  g.output('sample', DataType.FLOAT, ['batch', 3, 'image_height', 'image_width']);
  g.op(
    'Conv',
    [w.silu(w.gn(h, c)), w.normal([3, c, 3, 3], 0.01), w.normal([3], 0.01)],
    { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]) },
    'sample',
  );
  return g;
}
