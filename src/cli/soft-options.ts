/**
 * The soft-branch flags shared by `pmg generate`, `eval` and `demo`: `--soft DIR` (a soft module), `--llm-body DIR|ID`
 * (the LLM body it was made for; default `<models>/llm-body` of a `--models` folder), `--soft-weight W` (w_s) and
 * `--allow-llm-mismatch`. `softChoice` checks them and reads the module before any model loads; `openSoftBranch`
 * opens the body and the soft embedding cache (the keyword cache's file, `--cache` / `--no-cache`).
 */
import { commandSettings } from './command-settings.js';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { PmgError } from '../errors/pmg-error.js';
import { cacheDatabaseFile } from '../settings/settings.js';
import type { SoftRequest } from '../personalize/personalize-request.js';
import { FOLDER_LLM_BODY, modelsFolderLlmBody } from '../personalize/soft-body.js';
import { loadLlmBody } from '../runtime/llm-body.js';
import { memorySoftCache, openSoftCache } from '../soft/soft-cache.js';
import { readSoftModule, type SoftModule } from '../soft/soft-module.js';
import { booleanOption, stringOption, type CommandContext, type OptionSpec } from './command.js';
import { numberOption } from './option-values.js';
import { modelStoreForCommand } from './store-from-context.js';

export { FOLDER_LLM_BODY };

export const softCommandOptions: Record<'soft' | 'llm-body' | 'soft-weight' | 'allow-llm-mismatch', OptionSpec> = {
  soft: {
    type: 'string',
    value: 'DIR',
    description:
      'soft module folder (soft_config.json + soft.safetensors): its N soft preference tokens join the context of methods soft and pmg (docs/soft.md)',
  },
  'llm-body': {
    type: 'string',
    value: 'DIR|ID',
    description: `the LLM body the soft module was made for (default: <models>/${FOLDER_LLM_BODY} of a --models folder)`,
  },
  'soft-weight': { type: 'string', value: 'W', description: 'w_s, the factor of the soft tokens, >= 0 (default 1)' },
  'allow-llm-mismatch': {
    type: 'boolean',
    description: 'use a soft module made for other weights of an LLM of the same shape (its fingerprint differs), with a warning',
  },
};

export interface SoftChoice {
  module: SoftModule;
  /** The body to open: an absolute folder, or a hub id as given. */
  bodySpec: string;
  weight: number;
  allowLlmMismatch: boolean;
}

/** A choice whose body may be left to the caller (`pmg demo --tiny`: the tiny fixtures' own body). */
export type SoftChoiceWithoutBody = Omit<SoftChoice, 'bodySpec'> & { bodySpec?: string };

/**
 * The soft flags, checked, with the module read (undefined without --soft). `modelsFolder`: an absolute --models
 * folder. With `bodyOptional`, a missing body is the caller's to supply instead of an error.
 */
export function softChoice(context: CommandContext, modelsFolder?: string): SoftChoice | undefined;
export function softChoice(context: CommandContext, modelsFolder: string | undefined, options: { bodyOptional: boolean }): SoftChoiceWithoutBody | undefined;
export function softChoice(context: CommandContext, modelsFolder?: string, options: { bodyOptional?: boolean } = {}): SoftChoiceWithoutBody | undefined {
  const softText = stringOption(context, 'soft');
  const weight = numberOption(context, 'soft-weight');
  const bodyText = stringOption(context, 'llm-body');
  const allowLlmMismatch = booleanOption(context, 'allow-llm-mismatch');
  if (softText === undefined) {
    const stray = [weight !== undefined && '--soft-weight', bodyText !== undefined && '--llm-body', allowLlmMismatch && '--allow-llm-mismatch'].filter(Boolean);
    if (stray.length) throw new PmgError('invalid-argument', `${stray.join(' and ')} ${stray.length > 1 ? 'need' : 'needs'} --soft DIR (a soft module)`);
    return undefined;
  }
  if (!softText.trim()) throw new PmgError('invalid-argument', '--soft is empty; give a soft module folder (soft_config.json + soft.safetensors)');
  if (weight !== undefined && weight < 0)
    throw new PmgError('invalid-argument', `--soft-weight must be a number >= 0, got ${weight}`, { details: { field: 'soft-weight' } });
  const module = readSoftModule(resolve(context.io.cwd, softText));
  let bodySpec: string | undefined;
  if (bodyText !== undefined) {
    if (!bodyText.trim()) throw new PmgError('invalid-argument', '--llm-body is empty; give the LLM body folder or hub id the soft module was made for');
    const local = resolve(context.io.cwd, bodyText);
    bodySpec = existsSync(local) && statSync(local).isDirectory() ? local : bodyText;
  } else if (modelsFolderLlmBody(modelsFolder) !== undefined) {
    bodySpec = modelsFolderLlmBody(modelsFolder);
  } else if (!options.bodyOptional) {
    throw new PmgError(
      'invalid-argument',
      `--soft needs --llm-body DIR|ID, the LLM body the module was made for (${module.config.llm.id})${modelsFolder ? `; ${modelsFolder} has no ${FOLDER_LLM_BODY}/ folder` : ''}`,
    );
  }
  return { module, ...(bodySpec !== undefined ? { bodySpec } : {}), weight: weight ?? 1, allowLlmMismatch };
}

/** The --models value as an absolute folder, when it is one (not a preset). */
export function modelsFolderOf(context: CommandContext, models: string | undefined): string | undefined {
  if (models === undefined) return undefined;
  const dir = resolve(context.io.cwd, models);
  return existsSync(dir) && statSync(dir).isDirectory() ? dir : undefined;
}

/**
 * The LLM body and the soft cache of `choice`, as personalize's `soft` field. The cache is the keyword cache's file
 * (`--cache FILE`, default `<PMG_CACHE_DIR>/keywords.sqlite`), or memory with `--no-cache` (each user still computed
 * once per run). `close` closes both.
 */
export async function openSoftBranch(
  choice: SoftChoice,
  context: CommandContext,
  options: { cache: { noCache: boolean; file?: string }; device?: 'cpu' | 'cuda'; threads?: number },
): Promise<{ request: SoftRequest; close(): Promise<void> }> {
  const body = await loadLlmBody(choice.bodySpec, {
    store: modelStoreForCommand(context),
    ...(options.device ? { device: options.device } : {}),
    ...(options.threads ? { threads: options.threads } : {}),
  });
  try {
    const cache = options.cache.noCache ? memorySoftCache() : openSoftCache(options.cache.file ?? cacheDatabaseFile(commandSettings(context)));
    return {
      request: { module: choice.module, body, weight: choice.weight, cache, ...(choice.allowLlmMismatch ? { allowLlmMismatch: true } : {}) },
      async close() {
        cache.close();
        await body.close?.();
      },
    };
  } catch (error) {
    await body.close?.();
    throw error;
  }
}
