/**
 * What the remote image generators (A1111, ComfyUI) share behind spec/image-generator.ts: the capabilities of a
 * server that takes prompt text and a seed and hands back finished PNGs, the prompt text of a candidate in the
 * servers' `(text:w)` weighting syntax, the scheduler → sampler mapping, and one generation that renders the
 * candidates one request each (each with its own seed: neither server gives a batch of different prompts one seed
 * each) and turns the server's progress into pmg's steps.
 *
 * Capabilities: 'repeat' conditioning only (pmg's 'embed' arithmetic — spans encoded apart and scaled — is not
 * what the servers' emphasis does, so it is refused, not approximated), a negative prompt, the samplers with a
 * clear pmg counterpart, the final images of the server's own VAE; no soft tokens, no early search, no initial
 * latents, no live previews. A candidate whose prompt is weighted spans (the interface allows it) is sent as
 * `span, (span:w)`: see `weightedPromptText`.
 */
import { decodeImageRgb } from '../../core/image-io.js';
import { PmgError } from '../../errors/pmg-error.js';
import { resolveSchedulerName } from '../../schedulers/index.js';
import type {
  GenerationSettings,
  GeneratorCandidate,
  GeneratorImages,
  GeneratorPreview,
  ImageGeneration,
  ImageGenerator,
  ImageGeneratorCapabilities,
} from '../../spec/image-generator.js';
import type { SchedulerName, SchedulerRecord } from '../../spec/scheduler.js';
import { abortedError, type RemoteHttpOptions, type RemoteServer } from './remote-http.js';

export interface RemoteGeneratorOptions extends RemoteHttpOptions {
  /** Milliseconds between progress polls (A1111's /sdapi/v1/progress, ComfyUI's /history without a websocket); default 500. */
  pollMs?: number;
}

/** One candidate for the server: its prompt text, negative text, seed and sampler. */
export interface RemoteRenderJob {
  index: number;
  prompt: string;
  negative: string;
  seed: number;
  sampler: string;
  settings: GenerationSettings;
  /** Report the candidate's sampling steps done (0..steps); awaited so steps reach `onStep` in order. */
  onProgress: (stepsDone: number) => Promise<void>;
  signal: AbortSignal;
}

/** Which characters a server reads as weighting syntax (escaped with a backslash in plain text). */
export type SpecialCharacters = RegExp;

/** The pmg scheduler a remote generation uses when none is asked for. */
export const REMOTE_DEFAULT_SCHEDULER: SchedulerName = 'euler';

/**
 * A candidate's prompt as the server's text: plain text ('repeat' mode, the preference keywords already repeated
 * w times) with the server's special characters escaped; weighted spans as `text` (weight 1), `(text:w)` (any other
 * weight, up to 3 decimals) or nothing (weight 0), joined by ', '.
 */
export function weightedPromptText(prompt: GeneratorCandidate['prompt'], special: SpecialCharacters): string {
  const escape = (text: string): string => text.replace(special, (c) => `\\${c}`);
  if (typeof prompt === 'string') return escape(prompt);
  return prompt
    .filter((span) => span.weight !== 0 && span.text.trim() !== '')
    .map((span) => (span.weight === 1 ? escape(span.text) : `(${escape(span.text)}:${Number(span.weight.toFixed(3))})`))
    .join(', ');
}

export abstract class RemoteImageGenerator implements ImageGenerator {
  readonly capabilities: ImageGeneratorCapabilities;
  private closed = false;

  constructor(
    readonly id: string,
    protected readonly server: RemoteServer,
    /** pmg scheduler → the server's sampler name. */
    protected readonly samplers: Readonly<Partial<Record<SchedulerName, string>>>,
    protected readonly special: SpecialCharacters,
  ) {
    this.capabilities = {
      conditioning: ['repeat'],
      previews: false,
      earlySearch: false,
      negative: true,
      latents: false,
      schedulers: Object.keys(samplers) as SchedulerName[],
      decoders: ['vae'],
    };
  }

  /** Render one candidate and return its PNG. */
  protected abstract render(job: RemoteRenderJob): Promise<Buffer>;

  /** Ask the server to stop what it runs (best effort, after an abort). */
  protected abstract interrupt(): Promise<void>;

  async start(settings: GenerationSettings): Promise<ImageGeneration> {
    if (this.closed) throw new PmgError('invalid-argument', `the image generator ${this.id} is closed; make a new one`);
    const refuse = (field: string, what: string): never => {
      throw new PmgError('invalid-argument', `${field}: the image generator ${this.id} cannot ${what}`, { details: { field, generator: this.id } });
    };
    if (settings.finalDecoder !== undefined && settings.finalDecoder !== 'vae') refuse('finalDecoder', `decode with ${settings.finalDecoder}; use vae`);
    if (settings.latents) refuse('latents', 'start from given latents; let the seed make the noise');
    if (settings.candidates.some((c) => c.extraTokens)) refuse('soft', 'take soft preference tokens; use another method than soft');
    if (settings.seeds.length !== settings.candidates.length)
      refuse('seeds', `take ${settings.seeds.length} seeds for ${settings.candidates.length} candidates`);
    const name = resolveSchedulerName(settings.scheduler ?? REMOTE_DEFAULT_SCHEDULER);
    const sampler = this.samplers[name];
    if (sampler === undefined) refuse('scheduler', `run the ${name} scheduler; use one of ${this.capabilities.schedulers.join(', ')}`);
    if (settings.timestepSpacing) settings.warn?.(`${this.server.label} chooses its own timesteps; timestepSpacing ${settings.timestepSpacing} is not sent`);
    return new RemoteGeneration(this, settings, { name, sampler: sampler! });
  }

  /** Internal: run by RemoteGeneration. */
  renderCandidate(job: RemoteRenderJob): Promise<Buffer> {
    return this.render(job);
  }

  interruptServer(): Promise<void> {
    return this.interrupt().catch(() => undefined);
  }

  promptText(prompt: GeneratorCandidate['prompt']): string {
    return weightedPromptText(prompt, this.special);
  }

  get label(): string {
    return this.server.label;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

class RemoteGeneration implements ImageGeneration {
  readonly stepCount: number;
  readonly contextTokens: readonly number[];
  readonly scheduler: SchedulerRecord;
  readonly decoders = { final: 'vae', preview: 'vae', previewScale: 1 } as const;
  private images: Float32Array[] = [];
  private done = false;

  constructor(
    private readonly generator: RemoteImageGenerator,
    private readonly settings: GenerationSettings,
    sampler: { name: SchedulerName; sampler: string },
  ) {
    const steps = settings.steps;
    this.stepCount = steps;
    // The server tokenizes; pmg records its own 77-token window count per prompt.
    this.contextTokens = settings.candidates.map(() => 77);
    this.scheduler = {
      name: sampler.name,
      className: `${generator.id.split(':')[0]}:${sampler.sampler}`,
      config: { server: generator.label, sampler: sampler.sampler },
      // Nominal: the server picks its own timesteps; one entry per step.
      timesteps: Array.from({ length: steps }, (_, i) => Math.round(999 - (i * 1000) / steps)),
    };
  }

  async run(options: { until?: number } = {}): Promise<void> {
    const { settings } = this;
    if (options.until !== undefined && options.until < this.stepCount)
      throw new PmgError(
        'invalid-argument',
        `search: the image generator ${this.generator.id} cannot stop early to preview candidates; use the exhaustive search`,
      );
    if (this.done) return;
    const outer = settings.signal;
    const inner = new AbortController();
    const onOuterAbort = (): void => inner.abort();
    outer?.addEventListener('abort', onOuterAbort, { once: true });
    const n = settings.candidates.length;
    const steps = settings.steps;
    let emitted = 0;
    let failed: unknown;
    // Candidate i's d steps done are (i·steps + d)/n of the whole batch's steps.
    const advance = async (index: number, done: number): Promise<void> => {
      const reached = Math.min(steps, Math.floor((index * steps + Math.min(done, steps)) / n));
      while (emitted < reached && failed === undefined) {
        if (outer?.aborted) {
          failed = abortedError(this.generator.label);
          break;
        }
        emitted += 1;
        try {
          await settings.onStep?.({ stepsDone: emitted, requestedSteps: steps, step: emitted - 1, stepCount: this.stepCount });
        } catch (error) {
          failed = error;
        }
        if (outer?.aborted) failed ??= abortedError(this.generator.label);
      }
      if (failed !== undefined) inner.abort();
    };
    try {
      for (let index = 0; index < n; index++) {
        if (outer?.aborted) throw abortedError(this.generator.label);
        const candidate = settings.candidates[index]!;
        let png: Buffer;
        try {
          png = await this.generator.renderCandidate({
            index,
            prompt: this.generator.promptText(candidate.prompt),
            negative: candidate.negativePrompt ? this.generator.promptText(candidate.negativePrompt) : '',
            seed: settings.seeds[index]!,
            sampler: this.scheduler.config.sampler as string,
            settings,
            onProgress: (done) => advance(index, done),
            signal: inner.signal,
          });
        } catch (error) {
          if (inner.signal.aborted) void this.generator.interruptServer();
          throw failed ?? (outer?.aborted ? abortedError(this.generator.label) : error);
        }
        await advance(index, steps);
        if (failed !== undefined) throw failed;
        this.images.push(await this.pixels(png, index));
      }
      this.done = true;
    } finally {
      outer?.removeEventListener('abort', onOuterAbort);
    }
  }

  /** The PNG as [3, h, w] in [-1, 1], checked against the asked size. */
  private async pixels(png: Buffer, index: number): Promise<Float32Array> {
    const { width, height } = this.settings;
    const image = await decodeImageRgb(png, `candidate ${index}'s image from the ${this.generator.label}`);
    if (image.width !== width || image.height !== height)
      throw new PmgError(
        'invalid-response',
        `${this.generator.label} sent a ${image.width}x${image.height} image for candidate ${index}, asked for ${width}x${height}; check the server's model and settings`,
      );
    const plane = width * height;
    const out = new Float32Array(3 * plane);
    for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) out[c * plane + p] = (image.data[p * 3 + c]! / 255) * 2 - 1;
    return out;
  }

  preview(): Promise<GeneratorPreview> {
    return Promise.reject(
      new PmgError('invalid-argument', `search: the image generator ${this.generator.id} cannot stop early to preview candidates; use the exhaustive search`),
    );
  }

  keep(): void {
    throw new PmgError('invalid-argument', `search: the image generator ${this.generator.id} cannot stop early to keep candidates; use the exhaustive search`);
  }

  async finish(): Promise<GeneratorImages> {
    if (!this.done) throw new PmgError('internal', `finish before the generation on the ${this.generator.label} ran to the end`);
    const { width, height } = this.settings;
    const plane = 3 * width * height;
    const data = new Float32Array(this.images.length * plane);
    this.images.forEach((image, i) => data.set(image, i * plane));
    return { images: { data, dims: [this.images.length, 3, height, width] }, decoder: 'vae' };
  }
}
