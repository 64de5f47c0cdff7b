/**
 * What `pmg soft init` and `pmg soft import` make a module for: the LLM body (`--llm-body DIR|ID`, opened for its
 * shape, id and fingerprint), the generator's text width (`--sd DIR|ID`, read from its configs without loading a
 * graph, or `--cond-width N`), and the scene whose soft prompt template the module is made with (`--scene`).
 * Also the summary both commands print.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { PmgError } from '../errors/pmg-error.js';
import { loadPrompts } from '../personalize/prompts.js';
import { textWidthFromConfigs } from '../providers/image/onnx-stable-diffusion.js';
import { loadLlmBody } from '../runtime/llm-body.js';
import { familyLabel, prefixWidth, softTemplateName, type SoftConfig } from '../soft/soft-config.js';
import type { SoftModuleTarget } from '../soft/soft-init.js';
import type { SoftModule } from '../soft/soft-module.js';
import { scenes, type Scene } from '../spec/behaviour.js';
import type { LlmBody } from '../spec/llm-body.js';
import { booleanOption, stringOption, type CommandContext, type OptionSpec } from './command.js';
import { intOption } from './option-values.js';
import { checkOutputFolder } from './output-paths.js';
import { modelStoreForCommand } from './store-from-context.js';

export const softTargetOptions: Record<string, OptionSpec> = {
  'llm-body': { type: 'string', value: 'DIR|ID', description: 'the LLM body the module is for (its shape and weight fingerprint go into soft_config.json)' },
  llm: { type: 'string', value: 'DIR|ID', description: 'the same as --llm-body' },
  sd: {
    type: 'string',
    value: 'DIR|ID',
    description: 'the generator (diffusers ONNX folder or hub id): its text width sizes the map (768 SD 1.x, 1024 SD 2.x)',
  },
  'cond-width': { type: 'string', value: 'N', description: 'the generator text width, instead of --sd' },
  scene: { type: 'string', value: 'SCENE', description: `whose soft prompt template the module is made with: ${scenes.join(', ')}`, default: 'movie' },
  out: { type: 'string', short: 'o', value: 'DIR', description: 'the module folder to write (new, empty, or an earlier module to replace)' },
  json: { type: 'boolean', description: 'print soft_config.json and the fingerprint as JSON' },
};

export interface SoftTargetFlags {
  out: string;
  scene: Scene;
  bodySpec: string;
  sd?: string;
  condWidth?: number;
}

/** The flags, checked (nothing opened). */
export function softTargetFlags(context: CommandContext): SoftTargetFlags {
  const outText = stringOption(context, 'out');
  if (!outText) throw new PmgError('invalid-argument', 'missing --out DIR (the soft module folder to write)');
  const out = resolve(context.io.cwd, outText);
  checkOutputFolder(out, '--out');
  const scene = (stringOption(context, 'scene') ?? 'movie') as Scene;
  if (!scenes.includes(scene)) throw new PmgError('invalid-argument', `unknown scene '${scene}'; use --scene ${scenes.join('|')}`);
  const named = stringOption(context, 'llm-body');
  const alias = stringOption(context, 'llm');
  if (named !== undefined && alias !== undefined && named !== alias)
    throw new PmgError('invalid-argument', `--llm ${alias} and --llm-body ${named} name two LLM bodies; give one`);
  const body = named ?? alias;
  if (!body?.trim()) throw new PmgError('invalid-argument', 'missing --llm-body DIR|ID (the LLM body the module is for; --llm is the same flag)');
  const sd = stringOption(context, 'sd');
  const condWidth = intOption(context, 'cond-width', { min: 1 });
  if ((sd === undefined) === (condWidth === undefined))
    throw new PmgError('invalid-argument', 'give the generator: --sd DIR|ID (its text width is read from its configs) or --cond-width N, not both');
  return {
    out,
    scene,
    bodySpec: localOrId(context, body),
    ...(sd !== undefined ? { sd: localOrId(context, sd) } : {}),
    ...(condWidth !== undefined ? { condWidth } : {}),
  };
}

function localOrId(context: CommandContext, spec: string): string {
  const local = resolve(context.io.cwd, spec);
  return existsSync(local) && statSync(local).isDirectory() ? local : spec;
}

/** The generator's text width from `--sd` (configs only; hub ids fetch just those files). */
async function generatorWidth(context: CommandContext, sd: string): Promise<number> {
  const store = modelStoreForCommand(context);
  const resolved = await store.resolve(sd, { optionalFiles: ['text_encoder/config.json', 'unet/config.json'] });
  const width = textWidthFromConfigs(resolved.dir, sd);
  if (width === undefined) {
    throw new PmgError(
      'model-layout',
      `cannot tell the text width of the generator ${sd}: no hidden_size in text_encoder/config.json and no cross_attention_dim in unet/config.json; pass --cond-width N instead of --sd`,
      { details: { sd } },
    );
  }
  return width;
}

/** Open the body and read the generator's width: the target of a new module. `close` closes the body. */
export async function openSoftTarget(
  context: CommandContext,
  flags: SoftTargetFlags,
): Promise<{ target: SoftModuleTarget; body: LlmBody; close(): Promise<void> }> {
  const condWidth = flags.condWidth ?? (await generatorWidth(context, flags.sd!));
  const templateVersion = loadPrompts()[softTemplateName(flags.scene)].version;
  const body = await loadLlmBody(flags.bodySpec, { store: modelStoreForCommand(context) });
  return {
    target: { body, condWidth, ...(flags.sd ? { generatorId: flags.sd } : {}), scene: flags.scene, templateVersion },
    body,
    close: async () => {
      await body.close?.();
    },
  };
}

/** Trainable parameters of a module (the paper: about 4.2 M for Llama-2-7B into SD 1.x with P = N = 4). */
export function softParameterCount(config: SoftConfig): number {
  const width = prefixWidth(config);
  const prefix =
    config.reparameterisation === 'mlp'
      ? config.P * config.hidden + config.prefixHidden! * (config.hidden + 1) + width * (config.prefixHidden! + 1)
      : config.P * width;
  return prefix + config.N * config.hidden + config.condWidth * (config.hidden + 1);
}

/** What `pmg soft init|import` prints about the module it wrote. */
export function softModuleSummary(context: CommandContext, module: SoftModule): string {
  const c = module.config;
  if (booleanOption(context, 'json'))
    return `${JSON.stringify({ dir: module.source, fingerprint: module.fingerprint, parameters: softParameterCount(c), config: c }, null, 2)}\n`;
  return [
    `soft module: ${module.source}`,
    `  P ${c.P} prefix positions, N ${c.N} multimodal tokens, reparameterisation ${c.reparameterisation}${c.prefixHidden ? ` (hidden ${c.prefixHidden})` : ''}, ${softParameterCount(c).toLocaleString('en-US')} parameters`,
    `  LLM ${c.llm.id} (hidden ${c.hidden}, ${c.layers} layers, ${c.kvHeads} key/value heads of ${c.headDim}; weights ${c.llm.fingerprint.slice(0, 12)}…)`,
    `  generator ${c.generator.id ?? '(width given)'}: ${c.condWidth}-wide text (${familyLabel(c.generator.family)}); soft prompt ${c.template.name} version ${c.template.version}`,
    `  made by ${c.trainedWith}${c.seed !== undefined ? ` (seed ${c.seed})` : ''}${c.importedFrom ? ` from ${c.importedFrom}` : ''}; fingerprint ${module.fingerprint}`,
    '',
  ].join('\n');
}
