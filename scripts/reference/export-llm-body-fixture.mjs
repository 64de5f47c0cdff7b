// Exports the tiny LLM's weights (src/fixtures/tiny-llm.ts) under Hugging Face Llama state-dict names, in torch's
// Linear layout [out, in], for the independent torch check in scripts/reference/llm_body.py. Not committed; only the
// check's inputs and outputs are (src/runtime/reference/llm-body.json):
//   npx tsc -p . --outDir .build/ref && node scripts/reference/export-llm-body-fixture.mjs .build/ref
//   /usr/bin/python3 scripts/reference/llm_body.py
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

const build = resolve(process.argv[2] ?? 'dist');
const { TINY_LLM_CONFIG, tinyLlmConfigJson, tinyLlmWeights } = await import(`${build}/fixtures/tiny-llm.js`);
const config = TINY_LLM_CONFIG;
const weights = tinyLlmWeights(config);

/** [rows, cols] row-major → [cols, rows] (MatMul's right operand → torch Linear's weight). */
function transpose(values, rows, cols) {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c];
  return out;
}
const tensors = [];
const add = (name, dims, data) => tensors.push({ name, dims, float32_base64: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64') });
const { hidden, heads, kvHeads, headDim, intermediate } = config;
add('model.embed_tokens.weight', [weights.vocabSize, hidden], weights.embedding);
weights.layers.forEach((w, i) => {
  const p = `model.layers.${i}`;
  add(`${p}.self_attn.q_proj.weight`, [heads * headDim, hidden], transpose(w.q, hidden, heads * headDim));
  add(`${p}.self_attn.k_proj.weight`, [kvHeads * headDim, hidden], transpose(w.k, hidden, kvHeads * headDim));
  add(`${p}.self_attn.v_proj.weight`, [kvHeads * headDim, hidden], transpose(w.v, hidden, kvHeads * headDim));
  add(`${p}.self_attn.o_proj.weight`, [hidden, heads * headDim], transpose(w.o, heads * headDim, hidden));
  add(`${p}.mlp.gate_proj.weight`, [intermediate, hidden], transpose(w.gate, hidden, intermediate));
  add(`${p}.mlp.up_proj.weight`, [intermediate, hidden], transpose(w.up, hidden, intermediate));
  add(`${p}.mlp.down_proj.weight`, [hidden, intermediate], transpose(w.down, intermediate, hidden));
  add(`${p}.input_layernorm.weight`, [hidden], new Float32Array(hidden).fill(1));
  add(`${p}.post_attention_layernorm.weight`, [hidden], new Float32Array(hidden).fill(1));
});
add('model.norm.weight', [hidden], new Float32Array(hidden).fill(1));
mkdirSync('.build/ref', { recursive: true });
writeFileSync('.build/ref/llm-body-weights.json', `${JSON.stringify({ config: tinyLlmConfigJson(config), tensors })}\n`);
console.log('wrote .build/ref/llm-body-weights.json');
