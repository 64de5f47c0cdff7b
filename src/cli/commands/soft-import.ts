/** `pmg soft import FILE.safetensors`: soft-module weights in the PyTorch reference layout (soft/soft-import.ts) as a module folder. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { PmgError } from '../../errors/pmg-error.js';
import { importSoftWeights } from '../../soft/soft-import.js';
import { writeSoftModule } from '../../soft/soft-module.js';
import type { Command } from '../command.js';
import { openSoftTarget, softModuleSummary, softTargetFlags, softTargetOptions } from '../soft-target.js';

export const softImportCommand: Command = {
  name: 'soft import',
  summary: 'turn PyTorch soft-prompt weights (PMG port, P-Tuning v2 prefix encoder, PEFT prefix adapter) into a soft module',
  usage: 'FILE.safetensors --llm-body DIR|ID --sd DIR|ID --out DIR [--scene movie]',
  positionals: { name: 'file', description: 'a safetensors state dict (convert a .bin/.pt with safetensors.torch.save_file first)', min: 1, max: 1 },
  options: softTargetOptions,
  details: [
    'Accepted tensor names (a leading "module." is dropped; docs/soft.md lists them all):',
    '  prefix table [P, layers*2*kvHeads*headDim]: prefix_encoder.embedding.weight, prompt_embeddings (PEFT), prefix',
    '  MLP reparameterisation: prefix_encoder.embedding.weight [P, hidden] + prefix_encoder.trans.{0,2}.{weight,bias}',
    '  multimodal tokens [N, hidden] or [1, N, hidden]: trainable_prompt, tokens',
    '  map [condWidth, hidden] + [condWidth]: mapping_layer.weight/.bias, map.weight/.bias;  ignored: prefix_tokens',
    'Float16, bfloat16 and float64 are read as float32. Shapes must fit the LLM body and the generator; anything else is one line and',
    'nothing is written.',
    'Example:',
    '  pmg soft import pmg_movie.safetensors --llm-body ./llama2-body --sd onnx-community/stable-diffusion-v1-5-ONNX --out movie-soft',
  ].join('\n'),
  async run(context) {
    const file = context.positionals[0];
    if (!file)
      throw new PmgError(
        'invalid-argument',
        "missing FILE: the safetensors file to import, e.g. 'pmg soft import weights.safetensors --llm-body DIR --sd DIR --out DIR'",
      );
    const path = resolve(context.io.cwd, file);
    if (!existsSync(path)) throw new PmgError('file-not-found', `safetensors file ${path} does not exist`, { details: { file: path } });
    const flags = softTargetFlags(context);
    const opened = await openSoftTarget(context, flags);
    try {
      const { config, tensors } = importSoftWeights(path, opened.target);
      context.io.stdout.write(softModuleSummary(context, writeSoftModule(flags.out, config, tensors)));
      return 0;
    } finally {
      await opened.close();
    }
  },
};
