/**
 * A relayed generation unit (`pmg serve --queue`, issue 14): the worker runs it as any unit, and besides the denoising
 * steps it reports what the service's SSE stream shows in process — the keywords once known and, every
 * `relay.previewEvery` steps, the running candidates' x0 previews as small PNGs (base64) — all through
 * `job.updateProgress`. The result carries the worker's model ids, which the service writes into result.json.
 */
import type { PersonalizeResult } from '../personalize/personalize-request.js';
import { personalize } from '../personalize/personalize.js';
import { encodePreviewPngs } from '../pipeline/preview-files.js';
import type { ModelIds, ModelSet } from '../providers/model-set.js';
import type { QueueProgress } from './job-queue.js';
import { encodeResult, type GenerationUnit, type RelaySettings, type WireResult } from './generation-unit.js';

/** A relayed unit's result: the wire result and the ids of the models that made it. */
export type RelayedResult = WireResult & { models: ModelIds };

export async function runRelayedUnit(
  models: ModelSet,
  unit: GenerationUnit,
  relay: RelaySettings,
  report: (progress: QueueProgress) => void,
): Promise<RelayedResult> {
  const { relay: _relay, ...request } = unit;
  const result: PersonalizeResult = await personalize(models, {
    ...request,
    onProgress: (event) => {
      if (event.keywords)
        report({ stage: 'keywords', keywords: { preference: event.keywords.preference, target: event.keywords.target, cached: event.keywords.cached } });
      else if (event.stage === 'generate' && event.step !== undefined)
        report({ stage: 'generate', step: event.step, ...(event.total !== undefined ? { total: event.total } : {}) });
    },
    ...(relay.previewEvery > 0
      ? {
          previewEvery: relay.previewEvery,
          onPreview: async (preview) => {
            const pngs = await encodePreviewPngs(preview);
            report({
              stage: 'generate',
              step: preview.stepsDone,
              total: preview.requestedSteps,
              previews: pngs.map(({ candidate, png }) => ({ candidate, png: png.toString('base64') })),
            });
          },
        }
      : {}),
  });
  return { ...encodeResult(result), models: models.ids };
}
