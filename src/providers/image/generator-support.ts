/**
 * What a generation needs from an image generator, checked against its capabilities before any work (no keyword
 * asked, no model run): a need it cannot meet is one `invalid-argument` line naming the feature, the field and the
 * generator. Live previews are not a need: a generator without them simply shows none.
 */
import { PmgError } from '../../errors/pmg-error.js';
import { resolveSchedulerName } from '../../schedulers/index.js';
import type { DecoderKind } from '../../spec/diffusion-models.js';
import type { GeneratorConditioning, ImageGenerator } from '../../spec/image-generator.js';

export interface GeneratorNeeds {
  conditioning: GeneratorConditioning;
  /** Soft preference tokens will be appended to the prompts. */
  softTokens?: boolean;
  /** The early search (stop, preview, keep, finish). */
  earlySearch?: boolean;
  /** A non-empty negative prompt. */
  negative?: boolean;
  /** Initial latents instead of seeded noise. */
  latents?: boolean;
  scheduler?: string;
  finalDecoder?: DecoderKind;
}

export function checkGeneratorSupports(generator: Pick<ImageGenerator, 'id' | 'capabilities'>, needs: GeneratorNeeds): void {
  const can = generator.capabilities;
  const refuse = (what: string, field: string, instead: string): never => {
    throw new PmgError('invalid-argument', `${field}: the image generator ${generator.id} cannot ${what}; ${instead}`, {
      details: { field, generator: generator.id },
    });
  };
  if (!can.conditioning.includes(needs.conditioning)) refuse(`condition prompts in ${needs.conditioning} mode`, 'mode', `use ${can.conditioning.join(' or ')}`);
  if (needs.softTokens && !can.softTokens) refuse('take soft preference tokens', 'soft', 'use another method than soft (e.g. pmg)');
  if (needs.earlySearch && !can.earlySearch) refuse('stop early to preview candidates', 'search', 'use the exhaustive search');
  if (needs.negative && !can.negative) refuse('take a negative prompt', 'negative', 'leave the negative prompt empty');
  if (needs.latents && !can.latents) refuse('start from given latents', 'latents', 'let the seed make the noise');
  if (needs.scheduler !== undefined) {
    const name = resolveSchedulerName(needs.scheduler);
    if (!can.schedulers.includes(name)) refuse(`run the ${name} scheduler`, 'scheduler', `use one of ${can.schedulers.join(', ')}`);
  }
  if (needs.finalDecoder !== undefined && !can.decoders.includes(needs.finalDecoder)) {
    if (needs.finalDecoder === 'tiny')
      refuse(
        "decode with a tiny autoencoder: final decoder 'tiny' needs a tiny autoencoder decoder (TAESD, e.g. julienkay/taesd) and none is loaded",
        'finalDecoder',
        'give one, or use vae',
      );
    refuse(`decode with ${needs.finalDecoder}`, 'finalDecoder', `use ${can.decoders.join(' or ')}`);
  }
}
