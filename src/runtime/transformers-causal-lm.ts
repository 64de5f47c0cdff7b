/**
 * A causal LM in the transformers.js layout (config.json, tokenizer files, onnx/model*.onnx), loaded through
 * transformers.js. Internal to the `onnx:` LLM provider (providers/llm/onnx-causal-lm.ts).
 */
import { resolve } from 'node:path';
import { AutoModelForCausalLM, type PreTrainedModel, type PreTrainedTokenizer } from '@huggingface/transformers';
import { cached, externalData, loadTokenizer, onnxFile, TOKENIZER_FILES, withLocalEnv } from './transformers-loading.js';
import { requireModelFiles, type TransformersLoadOptions } from './transformers-options.js';

export interface CausalLm {
  dir: string;
  tokenizer: PreTrainedTokenizer;
  model: PreTrainedModel;
  /** config.json as read from the folder. */
  config: Record<string, unknown>;
}

export function loadCausalLm(dir: string, options: TransformersLoadOptions = {}): Promise<CausalLm> {
  const folder = resolve(dir);
  const device = options.device ?? 'cpu';
  const dtype = options.dtype ?? 'fp32';
  return cached(`causal-lm:${folder}:${device}:${dtype}`, async () => {
    const modelFile = onnxFile('model', dtype);
    requireModelFiles(folder, ['config.json', ...TOKENIZER_FILES, modelFile], 'causal LM');
    const tokenizer = await loadTokenizer(folder);
    const model = await withLocalEnv(folder, (id) =>
      AutoModelForCausalLM.from_pretrained(id, {
        local_files_only: true,
        device,
        dtype,
        use_external_data_format: externalData(folder, modelFile),
      }),
    );
    const config = JSON.parse(JSON.stringify(model.config)) as Record<string, unknown>;
    return { dir: folder, tokenizer, model, config };
  });
}
