/**
 * Does a soft module fit the LLM body, the generator and the scene of a run? Checked before any model runs, each
 * misfit one line naming both sides:
 * - the LLM's shape (hidden width, layers, key/value heads, head size): always an error;
 * - the LLM's weights (fingerprint) with the same shape: an error unless `allowLlmMismatch` (`--allow-llm-mismatch`),
 *   then a warning: a module is trained against one set of weights, and on other weights (another fine-tune, another
 *   quantization) its prefix and tokens mean something else, so a researcher wants to be stopped, not surprised;
 * - the generator's text width (SD 1.x 768, SD 2.x 1024): always an error;
 * - the scene: a module is trained with one scene's soft prompt; another scene is an error.
 */
import { PmgError } from '../errors/pmg-error.js';
import type { Scene } from '../spec/behaviour.js';
import type { LlmBody } from '../spec/llm-body.js';
import { familyLabel, generatorFamily, softTemplateName, type SoftConfig } from './soft-config.js';
import type { SoftModule } from './soft-module.js';

export interface SoftFitOptions {
  /** Use a module whose LLM fingerprint differs from the body's (same shape), with a warning. */
  allowLlmMismatch?: boolean;
  warn?: (message: string) => void;
}

function shapeText(c: Pick<SoftConfig, 'hidden' | 'layers' | 'kvHeads' | 'headDim'>): string {
  return `hidden ${c.hidden}, ${c.layers} layers, ${c.kvHeads} key/value heads of ${c.headDim}`;
}

/** The module against the LLM body (shape, then weights). */
export function checkSoftLlm(module: SoftModule, body: Pick<LlmBody, 'id' | 'config' | 'fingerprint'>, options: SoftFitOptions = {}): void {
  const c = module.config;
  const b = body.config;
  if (c.hidden !== b.hidden || c.layers !== b.layers || c.kvHeads !== b.kvHeads || c.headDim !== b.headDim) {
    throw new PmgError(
      'invalid-argument',
      `soft module ${module.source} was made for an LLM with ${shapeText(c)} (${c.llm.id}), but the LLM body ${body.id} has ${shapeText(b)}; use the body it was made for`,
      {
        details: { module: module.source, body: body.id },
      },
    );
  }
  if (c.llm.fingerprint !== body.fingerprint) {
    const what = `soft module ${module.source} was made for the LLM weights ${c.llm.fingerprint.slice(0, 12)}… (${c.llm.id}), but the LLM body ${body.id} has the weights ${body.fingerprint.slice(0, 12)}…`;
    if (!options.allowLlmMismatch) {
      throw new PmgError('invalid-argument', `${what}; use the body it was made for, or allow an LLM mismatch to use it anyway`, {
        details: { module: module.source, body: body.id },
      });
    }
    options.warn?.(`${what}; used anyway (an LLM mismatch is allowed)`);
  }
}

/** The module against the generator's text width. */
export function checkSoftGenerator(module: SoftModule, condWidth: number, generatorId: string): void {
  const c = module.config;
  if (c.condWidth !== condWidth) {
    throw new PmgError(
      'invalid-argument',
      `soft module ${module.source} maps into ${c.condWidth}-wide text embeddings (${familyLabel(c.generator.family)}), but the generator ${generatorId} has ${condWidth}-wide ones (${familyLabel(generatorFamily(condWidth))}); use a module made for this generator`,
      { details: { module: module.source, generator: generatorId } },
    );
  }
}

/** The module against the run's scene. */
export function checkSoftScene(module: SoftModule, scene: Scene): void {
  const name = module.config.template.name;
  if (name !== softTemplateName(scene)) {
    throw new PmgError(
      'invalid-argument',
      `soft module ${module.source} was made for the ${name.replace(/-soft$/, '')} scene (soft prompt ${name}); this run's scene is ${scene}`,
      {
        details: { module: module.source, scene },
      },
    );
  }
}
