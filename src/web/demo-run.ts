/**
 * `pmg demo` as a function: runs PMG (personalize()) for the users of the shipped MovieLens sample and
 * writes one folder:
 *   <out>/index.html                 the page (web/demo-page.ts)
 *   <out>/demo.json                  what ran (preset, models, settings, users); also marks the folder as a demo folder
 *   <out>/user-<id>/result.json, best.png, candidate-<i>.png   (personalize/result-files.ts)
 *   <out>/user-<id>/<method>/...     with a soft module: the target-only, keywords and soft runs, shown beside pmg+soft
 * Everything is written to `<out>.tmp-<pid>` first and renamed into place at the end, so a failure leaves
 * nothing in --out. An existing --out is replaced only when it is an earlier demo folder (has demo.json).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { swapFolderSync } from '../core/atomic-write.js';
import { settingsOf, type Environment, type Settings } from '../settings/settings.js';
import type { ProgressSink, ProgressTask } from '../core/progress.js';
import { loadDemoSamples } from '../data/demo-sample.js';
import { PmgError } from '../errors/pmg-error.js';
import { writeFixtures } from '../fixtures/write-fixtures.js';
import { loadModelSet, type ModelSet, type ModelSetSpec } from '../providers/model-set.js';
import { personalize, type PersonalizeRequest, type PersonalizeResult } from '../personalize/personalize.js';
import { isPresetName, presets, type ModelPreset } from '../providers/presets.js';
import { writeResultFolder } from '../personalize/result-files.js';
import type { ModelStore } from '../runtime/model-store.js';
import { DEFAULT_ALPHA, checkAlpha } from '../scoring/selection.js';
import type { Sample } from '../spec/behaviour.js';
import type { DecoderKind } from '../spec/diffusion-models.js';
import { renderDemoPage, type DemoMethodRow, type DemoPageUser } from './demo-page.js';
import type { SoftRequest } from '../personalize/personalize-request.js';
import { loadLlmBody } from '../runtime/llm-body.js';
import { memorySoftCache } from '../soft/soft-cache.js';
import { softModuleRecord, type SoftModule } from '../soft/soft-module.js';
import { explainFetchFailure, explainServerFailure } from './demo-model-errors.js';

export { networkNeededMessage, presetRepoIds } from './demo-model-errors.js';

/**
 * Settings of the tiny run: small and fast, the images are noise anyway. Like the default `fast` preset, its final
 * images come from the (fixture) tiny autoencoder, so the tiny demo takes the fast preset's decoding path.
 */
export const TINY_DEMO = { steps: 3, width: 64, height: 64, guidance: 2, finalDecoder: 'tiny' } as const;
const TINY_FIXTURES = ['llm', 'clip', 'sd', 'taesd'];
/** The tiny fixtures' LLM body, written when the tiny demo runs with --soft. */
const FIXTURE_LLM_BODY = 'llm-body';
export const DEMO_MARKER = 'demo.json';
const TINY_LLM_LABEL = 'tiny fixture LLM (random weights)';
export const SAMPLE_NOTE =
  'History and targets: three users of MovieLens ml-latest-small (GroupLens, 2018), redistributed for research under the MovieLens licence: no endorsement by GroupLens or the University of Minnesota, no commercial use without permission (see assets/sample/README.md). Target descriptions written by the pmg authors.';

export interface DemoOptions {
  /** Absolute output folder. */
  out: string;
  /** Run on the tiny random-weight fixture models, offline. */
  tiny: boolean;
  /** Hub models to use (ignored with `tiny` or `models`). */
  preset?: ModelPreset;
  /** A folder laid out like `pmg models fixtures` writes it (llm/, clip/, sd/). */
  models?: string;
  /** Another LLM for the keywords than the preset's or the folder's (`onnx:...` or `openai:...`), and its model name. */
  llm?: string;
  llmModel?: string;
  /** A tiny autoencoder decoder (folder or hub id) or 'none', and which decoder makes the images (model-set.ts). */
  decoder?: string;
  finalDecoder?: DecoderKind;
  /** How many sample users (default: all). */
  users?: number;
  steps?: number;
  seed?: number;
  alpha?: number;
  device?: 'cpu' | 'cuda';
  threads?: number;
  store: ModelStore;
  /** The settings (the LLM's API key and timeout); default: those of `env`, else the process's. */
  settings?: Settings;
  env?: Environment;
  offline: boolean;
  /** One line of progress text (the CLI writes it to stderr). */
  log?: (line: string) => void;
  warn?: (message: string) => void;
  /** Bars for the denoising steps. */
  progress?: ProgressSink;
  /** Default: the shipped sample (data/demo-sample.ts). */
  samples?: Sample[];
  /**
   * A soft module, the LLM body it was made for (opened with the models) and w_s: the main run is pmg with the soft
   * tokens, and target-only, keywords and soft run too, shown side by side.
   */
  /** `bodySpec` undefined: with `tiny`, the tiny fixtures' own LLM body (`llm-body/`). */
  soft?: { module: SoftModule; bodySpec?: string; weight: number; allowLlmMismatch?: boolean };
  signal?: AbortSignal;
  /** Shown on the page (omit for byte-identical pages). */
  generatedAt?: string;
}

export interface DemoUserOutcome {
  user: string;
  /** Folder name under out, e.g. 'user-54'. */
  folder: string;
  chosen: number;
  candidates: number;
}

export interface DemoOutcome {
  /** Absolute path of index.html. */
  page: string;
  users: DemoUserOutcome[];
}

/** Folder name of a user: 'user-<id>' with anything unusual replaced. */
export function userFolderName(user: string): string {
  return `user-${user.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^\.+/, '_') || 'unknown'}`;
}

/** Refuse an output folder that is a file, or a non-empty folder that an earlier demo did not write. */
export function checkDemoOut(out: string): void {
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory())
    throw new PmgError('file-system', `out ${out} is a file; give a folder (it is created, or replaced when it holds an earlier demo)`, {
      details: { field: 'out' },
    });
  const entries = readdirSync(out);
  if (entries.length > 0 && !entries.includes(DEMO_MARKER)) {
    throw new PmgError('invalid-argument', `out ${out} is a folder that pmg demo did not write (no ${DEMO_MARKER}); choose an empty or new folder`, {
      details: { field: 'out' },
    });
  }
}

async function loadModels(options: DemoOptions, fixturesDir: string | undefined): Promise<ModelSet> {
  const spec: ModelSetSpec = { ...(options.device ? { device: options.device } : {}), ...(options.threads ? { threads: options.threads } : {}) };
  if (fixturesDir) spec.models = fixturesDir;
  else if (options.models) spec.models = options.models;
  else if (options.preset && isPresetName(options.preset.name) && presets[options.preset.name] === options.preset) spec.models = options.preset.name;
  else if (options.preset) {
    // A preset from PMG_PRESET_FILE: its parts one by one.
    spec.llm = options.preset.llm;
    if (options.preset.llmModel) spec.llmModel = options.preset.llmModel;
    spec.clip = options.preset.clip;
    spec.sd = options.preset.sd;
    // Its decoder as the preset has it (a preset's decoder is not an explicit choice: its finalDecoder decides).
    if (options.preset.decoder && options.decoder === undefined) {
      spec.decoder = options.preset.decoder;
      spec.finalDecoder = options.preset.finalDecoder ?? 'vae';
    }
  }
  if (fixturesDir && options.decoder === undefined) spec.finalDecoder = TINY_DEMO.finalDecoder;
  if (options.llm !== undefined) spec.llm = options.llm;
  if (options.llmModel !== undefined) spec.llmModel = options.llmModel;
  if (options.decoder !== undefined) spec.decoder = options.decoder;
  if (options.finalDecoder !== undefined) spec.finalDecoder = options.finalDecoder;
  try {
    return await loadModelSet(spec, {
      store: options.store,
      settings: settingsOf(options),
      offline: options.offline || options.tiny,
      ...(options.warn ? { warn: options.warn } : {}),
    });
  } catch (error) {
    throw options.preset && !fixturesDir && !options.models ? explainFetchFailure(error, options.preset, options.offline) : error;
  }
}

function requestFor(sample: Sample, options: DemoOptions, log: (line: string) => void, label: string): PersonalizeRequest {
  const preset = options.tiny || options.models ? undefined : options.preset;
  const size = options.tiny ? TINY_DEMO : preset;
  const request: PersonalizeRequest = {
    scene: sample.scene,
    history: sample.history,
    target: sample.target,
    alpha: options.alpha ?? DEFAULT_ALPHA,
    seed: options.seed ?? 0,
  };
  const steps = options.steps ?? (options.tiny ? TINY_DEMO.steps : preset?.steps);
  if (steps !== undefined) request.steps = steps;
  if (size) {
    request.width = size.width;
    request.height = size.height;
    request.guidance = size.guidance;
  }
  if (preset?.scheduler) request.scheduler = preset.scheduler;
  // Bounded memory as in generate: UNet rows per call and VAE tiling from the machine's available memory.
  request.memory = { budget: 'auto' };
  if (options.signal) request.signal = options.signal;
  if (options.warn) request.warn = options.warn;
  let task: ProgressTask | undefined;
  let lastStage = '';
  request.onProgress = (event) => {
    if (event.stage !== lastStage) {
      task?.finish();
      task = undefined;
      lastStage = event.stage;
      log(`${label}: ${event.stage}${event.message ? ` (${event.message})` : ''}`);
    }
    if (event.stage === 'generate' && event.step !== undefined && event.total !== undefined && options.progress) {
      task ??= options.progress.start(`${label}: denoising`, event.total, 'steps');
      task.update(event.step);
    }
  };
  return request;
}

/** The methods shown beside pmg+soft when the demo has a soft module, in the paper's ablation order. */
export const DEMO_COMPARED_METHODS = ['target-only', 'keywords', 'soft'] as const;

function methodRow(method: string, label: string, folder: string, result: PersonalizeResult): DemoMethodRow {
  const c = result.candidates[result.chosen]!;
  return { method, label, image: `${folder}/candidate-${result.chosen}.png`, prompt: c.prompt, contextTokens: c.contextTokens, dp: c.dp, dt: c.dt, z: c.z };
}

function pageUser(sample: Sample, folder: string, result: PersonalizeResult, modelLabel?: string): DemoPageUser {
  return {
    user: sample.user,
    history: sample.history.items,
    target: sample.target.item ?? {},
    keywords: {
      preference: result.keywords.preference,
      target: result.keywords.target,
      model: modelLabel ?? result.keywords.model,
      cached: result.keywords.cached,
    },
    candidates: result.candidates.map((c, i) => ({
      weights: c.weights,
      prompt: c.prompt,
      seed: c.seed,
      dp: c.dp,
      dt: c.dt,
      z: c.z,
      image: `${folder}/candidate-${i}.png`,
      finished: c.finished,
      decoder: c.decoder,
    })),
    chosen: result.chosen,
    timings: result.timings,
  };
}

/** Put `stage` at `out`: replaces an earlier demo folder, never anything else. */
function publish(stage: string, out: string): void {
  if (existsSync(out)) checkDemoOut(out);
  swapFolderSync(stage, out);
}

export async function runDemo(options: DemoOptions): Promise<DemoOutcome> {
  const log = options.log ?? (() => undefined);
  const alpha = checkAlpha(options.alpha ?? DEFAULT_ALPHA);
  const all = options.samples ?? loadDemoSamples();
  const count = options.users ?? all.length;
  if (!Number.isInteger(count) || count < 1 || count > all.length) {
    throw new PmgError('invalid-argument', `users must be a whole number from 1 to ${all.length} (the sample has ${all.length} users), got ${count}`, {
      details: { field: 'users' },
    });
  }
  if (!options.tiny && !options.models && !options.preset)
    throw new PmgError('invalid-argument', 'the demo needs a preset, a models folder, or the tiny fixtures');
  const samples = all.slice(0, count);
  checkDemoOut(options.out);

  const parent = dirname(options.out);
  const createdParent = mkdirSync(parent, { recursive: true });
  const stage = join(parent, `${basename(options.out)}.tmp-${process.pid}`);
  rmSync(stage, { recursive: true, force: true });
  const fixturesDir = options.tiny ? mkdtempSync(join(tmpdir(), 'pmg-demo-models-')) : undefined;
  let models: ModelSet | undefined;
  let soft: SoftRequest | undefined;
  let closeBody: (() => Promise<unknown>) | undefined;
  const bodyLabel = options.soft?.bodySpec ?? 'tiny fixture LLM body (random weights)';
  try {
    if (fixturesDir) {
      log('writing the tiny fixture models (random weights: the images will be noise)');
      await writeFixtures(fixturesDir, { only: options.soft ? [...TINY_FIXTURES, FIXTURE_LLM_BODY] : TINY_FIXTURES });
    }
    models = await loadModels(options, fixturesDir);
    if (options.soft) {
      const bodySpec = options.soft.bodySpec ?? (fixturesDir ? join(fixturesDir, FIXTURE_LLM_BODY) : undefined);
      if (!bodySpec)
        throw new PmgError(
          'invalid-argument',
          `llmBody is missing: the soft module needs the LLM body it was made for (${options.soft.module.config.llm.id})`,
          {
            details: { field: 'llmBody' },
          },
        );
      const body = await loadLlmBody(bodySpec, {
        store: options.store,
        ...(options.device ? { device: options.device } : {}),
        ...(options.threads ? { threads: options.threads } : {}),
      });
      closeBody = async () => body.close?.();
      soft = {
        module: options.soft.module,
        body,
        weight: options.soft.weight,
        cache: memorySoftCache(),
        ...(options.soft.allowLlmMismatch ? { allowLlmMismatch: true } : {}),
      };
    }
    mkdirSync(stage);
    const users: DemoPageUser[] = [];
    let settingsSteps: number | undefined;
    let finalDecoder: DecoderKind | undefined;
    let runMode: { mode: string; search: string } | undefined;
    const outcomes: DemoUserOutcome[] = [];
    for (const [index, sample] of samples.entries()) {
      const label = `user ${sample.user} (${index + 1}/${samples.length})`;
      const folder = userFolderName(sample.user);
      const request = requestFor(sample, options, log, label);
      const result = await personalize(models, { ...request, ...(soft ? { soft } : {}) }).catch((error: unknown) => {
        throw explainServerFailure(error, options.tiny || options.models ? undefined : options.preset);
      });
      await writeResultFolder(join(stage, folder), result, { models: models.ids });
      const user = pageUser(sample, folder, result, fixturesDir ? TINY_LLM_LABEL : undefined);
      if (soft) {
        // The ablation row: the same user, seed and keywords by every method.
        const rows: DemoMethodRow[] = [];
        for (const method of DEMO_COMPARED_METHODS) {
          const other = await personalize(models, {
            ...request,
            method,
            keywords: { scene: sample.scene, ...result.keywords },
            ...(method === 'soft' ? { soft } : {}),
          });
          await writeResultFolder(join(stage, folder, method), other, { models: models.ids });
          rows.push(methodRow(method, method, `${folder}/${method}`, other));
        }
        rows.push(methodRow('pmg', 'pmg+soft (chosen above)', folder, result));
        user.methods = rows;
      }
      users.push(user);
      settingsSteps ??= result.settings.steps;
      finalDecoder ??= result.settings.finalDecoder;
      runMode ??= { mode: result.mode, search: result.search };
      outcomes.push({ user: sample.user, folder, chosen: result.chosen, candidates: result.candidates.length });
      log(`${label}: chose candidate ${result.chosen} of ${result.candidates.length}`);
    }
    const ids = fixturesDir
      ? {
          llm: TINY_LLM_LABEL,
          clip: 'tiny fixture CLIP (random weights)',
          sd: 'tiny fixture Stable Diffusion (random weights)',
          decoder: 'tiny fixture autoencoder (random weights)',
        }
      : models.ids;
    const presetName = options.tiny || options.models ? undefined : options.preset?.name;
    const steps = settingsSteps;
    const html = renderDemoPage({
      ...(presetName ? { preset: presetName } : {}),
      models: ids,
      alpha,
      tiny: options.tiny,
      ...(steps !== undefined ? { steps } : {}),
      ...(finalDecoder ? { finalDecoder } : {}),
      seed: options.seed ?? 0,
      ...(runMode ?? {}),
      ...(options.soft ? { soft: softLabel(options.soft, bodyLabel) } : {}),
      sampleNote: SAMPLE_NOTE,
      ...(options.generatedAt ? { generatedAt: options.generatedAt } : {}),
      users,
    });
    writeFileSync(join(stage, 'index.html'), html);
    const softSummary = options.soft
      ? { ...softModuleRecord(options.soft.module), weight: options.soft.weight, llmBody: bodyLabel, methods: [...DEMO_COMPARED_METHODS, 'pmg'] }
      : null;
    const summary = {
      tool: 'pmg demo',
      tiny: options.tiny,
      preset: presetName ?? null,
      models: ids,
      finalDecoder: finalDecoder ?? null,
      alpha,
      steps: steps ?? null,
      seed: options.seed ?? 0,
      soft: softSummary,
      users: outcomes,
    };
    writeFileSync(join(stage, DEMO_MARKER), `${JSON.stringify(summary, null, 2)}\n`);
    publish(stage, options.out);
    return { page: join(options.out, 'index.html'), users: outcomes };
  } catch (error) {
    rmSync(stage, { recursive: true, force: true });
    if (createdParent) rmSync(createdParent, { recursive: true, force: true });
    throw error;
  } finally {
    await closeBody?.().catch(() => undefined);
    await models?.close().catch(() => undefined);
    if (fixturesDir) rmSync(fixturesDir, { recursive: true, force: true });
  }
}

function softLabel(soft: NonNullable<DemoOptions['soft']>, body: string): string {
  const c = soft.module.config;
  return `${soft.module.source} (P ${c.P}, N ${c.N}, w_s ${soft.weight}, ${c.trainedWith === 'init' ? 'untrained: random init' : `made by ${c.trainedWith}`}; LLM body ${body})`;
}
