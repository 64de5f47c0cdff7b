/** `pmg soft init`: a new soft module, initialised as the paper's code does (soft/soft-init.ts), for an LLM body and a generator. */
import { PmgError } from '../../errors/pmg-error.js';
import { checkSoftSizes, DEFAULT_PREFIX, DEFAULT_TOKENS, initSoftModule } from '../../soft/soft-init.js';
import { writeSoftModule } from '../../soft/soft-module.js';
import { booleanOption, type Command } from '../command.js';
import { intOption } from '../option-values.js';
import { openSoftTarget, softModuleSummary, softTargetFlags, softTargetOptions } from '../soft-target.js';

export const softInitCommand: Command = {
  name: 'soft init',
  summary: 'write a new soft module (random prefix and tokens, default linear map) for an LLM body and a generator',
  usage: '--llm-body DIR|ID --sd DIR|ID --out DIR [--prefix 4] [--tokens 4] [--seed S] [--mlp [--prefix-hidden H]] [--scene movie]',
  options: {
    ...softTargetOptions,
    prefix: { type: 'string', value: 'P', description: 'prefix positions per layer (0: no prefix)', default: String(DEFAULT_PREFIX) },
    tokens: { type: 'string', value: 'N', description: 'multimodal tokens, i.e. soft tokens given to the generator (>= 1)', default: String(DEFAULT_TOKENS) },
    seed: { type: 'string', value: 'S', description: "seed of pmg's own generator (not torch's)", default: '0' },
    mlp: { type: 'boolean', description: "P-Tuning v2's reparameterisation: the prefix is an MLP (Linear, tanh, Linear) of P learned embeddings" },
    'prefix-hidden': { type: 'string', value: 'H', description: "--mlp: width of the MLP's hidden layer (default: the LLM's hidden width)" },
  },
  details: [
    "Initialised as the paper's code does: the prefix table (or the MLP's embedding) and the tokens N(0, 1), every Linear with PyTorch's",
    "default init (uniform within ±1/sqrt(fan_in)). The numbers come from pmg's seeded generator: the same seed gives the same file",
    "everywhere, not the numbers torch would draw. Such a module is untrained: use it to try the pipeline, or as a trainer's start.",
    'The folder holds soft_config.json (sizes, LLM id and fingerprint, generator family, template version) and soft.safetensors.',
    'Examples:',
    '  pmg models fixtures fx && pmg soft init --llm-body fx/llm-body --sd fx/sd --out my-soft',
    '  pmg models prepare-soft onnx-community/Qwen2.5-0.5B-Instruct --out qwen-body && pmg soft init --llm-body qwen-body --sd onnx-community/stable-diffusion-v1-5-ONNX --mlp --out qwen-soft',
  ].join('\n'),
  async run(context) {
    const flags = softTargetFlags(context);
    const P = intOption(context, 'prefix', { min: 0, fallback: DEFAULT_PREFIX });
    const N = intOption(context, 'tokens', { min: 0, fallback: DEFAULT_TOKENS });
    const seed = intOption(context, 'seed', { min: 0, fallback: 0 });
    const mlp = booleanOption(context, 'mlp');
    const prefixHidden = intOption(context, 'prefix-hidden', { min: 1 });
    if (prefixHidden !== undefined && !mlp) throw new PmgError('invalid-argument', '--prefix-hidden needs --mlp');
    checkSoftSizes(P, N);
    const opened = await openSoftTarget(context, flags);
    try {
      const { config, tensors } = initSoftModule({ ...opened.target, P, N, seed, mlp, ...(prefixHidden !== undefined ? { prefixHidden } : {}) });
      context.io.stdout.write(softModuleSummary(context, writeSoftModule(flags.out, config, tensors)));
      return 0;
    } finally {
      await opened.close();
    }
  },
};
