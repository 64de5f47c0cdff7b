/**
 * The `a1111:http://host:port` image generator: an AUTOMATIC1111 stable-diffusion-webui server started with
 * `--api`. Each candidate is one `POST /sdapi/v1/txt2img` with `batch_size: 1, n_iter: 1` and the candidate's own
 * seed (A1111 gives image k of a batch the seed `seed + k` and one prompt to the whole batch, while pmg's candidates
 * share one seed and differ in prompt, so a batch cannot carry them); `subseed_strength: 0`, images not saved on
 * the server. While it runs, `GET /sdapi/v1/progress?skip_current_image=true` is polled for `state.sampling_step`
 * (the server's current job: on a server shared with other clients the step counts are theirs as much as ours).
 * An abort sends `POST /sdapi/v1/interrupt`. At start `GET /sdapi/v1/options` checks the server answers and
 * names its checkpoint (`sd_model_checkpoint`), which the generator's id records: `a1111:http://host:port#<checkpoint>`.
 *
 * Prompt text: A1111 reads `(text:w)` as emphasis and `( ) [ ] \` as syntax, so plain text is escaped with `\` and
 * weighted spans become `(text:w)` (remote-generator.ts weightedPromptText). Samplers: pmg's schedulers with an A1111
 * sampler of the same algorithm (serve/a1111.ts a1111Samplers, read backwards): euler → Euler, euler-ancestral →
 * Euler a, ddim → DDIM, pndm → PLMS, dpm-solver++ → DPM++ 2M, lcm → LCM; ddpm is refused.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { PmgError } from '../../errors/pmg-error.js';
import { a1111Samplers } from '../../serve/a1111.js';
import type { SchedulerName } from '../../spec/scheduler.js';
import { RemoteServer } from './remote-http.js';
import { RemoteImageGenerator, type RemoteGeneratorOptions, type RemoteRenderJob } from './remote-generator.js';
import { remoteBaseUrl } from './remote-spec.js';

/** pmg scheduler → A1111 sampler name. */
export const a1111SamplerOf: Readonly<Partial<Record<SchedulerName, string>>> = Object.fromEntries(
  Object.entries(a1111Samplers).map(([sampler, scheduler]) => [scheduler, sampler]),
);

/** What `POST /sdapi/v1/txt2img` answers (the fields pmg reads). */
interface Txt2ImgAnswer {
  images?: unknown;
  info?: unknown;
}

interface ProgressAnswer {
  state?: { sampling_step?: unknown; sampling_steps?: unknown };
}

/** The registry's `a1111:` factory: checks the server answers and reads its checkpoint. */
export async function createA1111Generator(spec: string, options: RemoteGeneratorOptions = {}): Promise<A1111Generator> {
  const { baseUrl } = remoteBaseUrl(spec, 'a1111');
  const server = new RemoteServer('a1111', baseUrl, options);
  const settings = await server.json<Record<string, unknown>>('/sdapi/v1/options');
  const checkpoint = typeof settings.sd_model_checkpoint === 'string' && settings.sd_model_checkpoint ? settings.sd_model_checkpoint : undefined;
  return new A1111Generator(server, checkpoint, options.pollMs ?? 500);
}

export class A1111Generator extends RemoteImageGenerator {
  constructor(
    server: RemoteServer,
    readonly checkpoint: string | undefined,
    private readonly pollMs: number,
  ) {
    super(`a1111:${server.baseUrl}${checkpoint ? `#${checkpoint}` : ''}`, server, a1111SamplerOf, /[\\()[\]]/g);
  }

  protected async render(job: RemoteRenderJob): Promise<Buffer> {
    const { settings } = job;
    const body = {
      prompt: job.prompt,
      negative_prompt: job.negative,
      seed: job.seed,
      subseed: -1,
      subseed_strength: 0,
      batch_size: 1,
      n_iter: 1,
      steps: settings.steps,
      cfg_scale: settings.guidance,
      width: settings.width,
      height: settings.height,
      sampler_name: job.sampler,
      save_images: false,
      send_images: true,
    };
    const polling = new AbortController();
    const poller = this.poll(job, AbortSignal.any([polling.signal, job.signal]));
    try {
      const answer = await this.server.json<Txt2ImgAnswer>('/sdapi/v1/txt2img', { json: body, signal: job.signal });
      const first = Array.isArray(answer.images) ? answer.images[0] : undefined;
      if (typeof first !== 'string' || first.length === 0)
        throw new PmgError('invalid-response', `${this.label}: /sdapi/v1/txt2img answered without images; check the server log`);
      return Buffer.from(first.replace(/^data:image\/\w+;base64,/, ''), 'base64');
    } finally {
      polling.abort();
      await poller;
    }
  }

  /** Poll the server's progress until stopped; a failed poll is skipped (progress is a courtesy, the images are not). */
  private async poll(job: RemoteRenderJob, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await sleep(this.pollMs, undefined, { signal });
        const progress = await this.server.json<ProgressAnswer>('/sdapi/v1/progress?skip_current_image=true', { signal, retries: 0 });
        const step = progress.state?.sampling_step;
        const of = progress.state?.sampling_steps;
        // `sampling_step` is the index of the step just done, 0 also before the first: counted as steps done, it lags one step and never leads.
        if (typeof step === 'number' && of === job.settings.steps && step > 0) await job.onProgress(Math.min(step, of));
      } catch {
        // aborted, or a poll that failed: the next one tries again
      }
    }
  }

  protected async interrupt(): Promise<void> {
    await this.server.call('/sdapi/v1/interrupt', { json: {}, retries: 0 });
  }
}
