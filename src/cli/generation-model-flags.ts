/**
 * The generation models a command names by flags, as one model-set spec: `--models DIR|PRESET` (a folder here, else a
 * preset or hub id), `--llm`/`--llm-model`, the decoder flags and `--generator a1111:URL|comfyui:URL`. `pmg eval` and
 * `pmg worker` read the same flags, so a worker started with the eval's flags has the eval's models.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { checkRemoteGeneratorSpec } from '../providers/image/remote-spec.js';
import type { GeneratorModelSetSpec } from '../providers/model-set.js';
import { stringOption, type CommandContext } from './command.js';
import { decoderSettings } from './decoder-options.js';
import { llmSettings } from './llm-options.js';

export function generationModelFlags(context: CommandContext) {
  const { cwd } = context.io;
  const llm = llmSettings(context);
  const modelsText = stringOption(context, 'models');
  const models = modelsText === undefined ? undefined : existsSync(resolve(cwd, modelsText)) ? resolve(cwd, modelsText) : modelsText;
  const decoders = decoderSettings(context);
  const generatorText = stringOption(context, 'generator');
  const generator = generatorText === undefined ? undefined : checkRemoteGeneratorSpec(generatorText);
  const spec: GeneratorModelSetSpec = { models, llm: llm.llm, llmModel: llm.llmModel, ...decoders, ...(generator ? { generator } : {}) };
  return { spec, modelsText, models, llm, decoders, generator };
}
