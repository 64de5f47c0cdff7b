/**
 * What `pmg demo` says when it cannot have the preset's models: fetching them failed (offline, the hub silent or
 * failing, a repo or file missing), or the paper preset's OpenAI-compatible LLM server failed. One line each, naming
 * the models and what to do, and always the hint to run offline with --tiny.
 */
import { formatBytes } from '../core/progress.js';
import { PmgError, isPmgError } from '../errors/pmg-error.js';
import type { ModelPreset } from '../providers/presets.js';

/** The models a preset downloads, as the offline message names them. */
export function presetRepoIds(preset: ModelPreset): string[] {
  const ids: string[] = [];
  if (preset.llm.startsWith('onnx:')) ids.push(preset.llm.slice('onnx:'.length));
  ids.push(preset.clip, preset.sd);
  if (preset.decoder) ids.push(preset.decoder);
  return ids;
}

/** Errors of fetching the preset's models: offline, the hub not answering or failing, or not having a repo or file. */
function needsNetwork(error: unknown): error is PmgError {
  return isPmgError(error) && ['offline', 'download-failed', 'timeout', 'model-not-found'].includes(error.code);
}

/** The one line `pmg demo` prints when the preset's models cannot be fetched; it always ends with the --tiny hint. */
export function networkNeededMessage(preset: ModelPreset, reason: string, advice = 'connect and run it again'): string {
  const server = preset.llm.startsWith('openai:')
    ? ` and an OpenAI-compatible server at ${preset.llm.slice('openai:'.length)} running ${preset.llmModel ?? 'a chat model'}`
    : '';
  return `pmg demo needs the '${preset.name}' preset's models from the hub on first run (${presetRepoIds(preset).join(', ')}; about ${formatBytes(preset.downloadBytes)})${server}, but ${reason}; ${advice}, or run offline with 'pmg demo --tiny'`;
}

/** What went wrong and what to do about it, for networkNeededMessage. */
function reasonOf(error: PmgError, offline: boolean): { reason: string; advice: string } {
  if (error.code === 'offline' || offline) {
    return {
      reason: 'offline mode is on (the offline setting, PMG_OFFLINE or HF_HUB_OFFLINE) and they are not in the cache',
      advice: 'connect and run it again',
    };
  }
  const what = error.message.split('\n')[0]!.replace(/;.*$/, '');
  if (error.code === 'timeout')
    return { reason: `the hub did not answer (${what})`, advice: 'check the network, HF_ENDPOINT or PMG_HUB_TIMEOUT and run it again' };
  if (error.code === 'model-not-found')
    return {
      reason: `the hub refused a file (${what})`,
      advice: 'check that HF_ENDPOINT is the hub or a mirror that hosts these repos (HF_TOKEN for gated ones)',
    };
  if (error.details.stage === 'connect')
    return { reason: `the hub could not be reached (${what})`, advice: 'connect (or point HF_ENDPOINT at a mirror) and run it again' };
  return { reason: `the download failed (${what})`, advice: 'run it again to resume where it stopped' };
}

/** An error of fetching the preset's models, as the one line networkNeededMessage writes; any other error as it was. */
export function explainFetchFailure(error: unknown, preset: ModelPreset, offline: boolean): unknown {
  if (!needsNetwork(error)) return error;
  const { reason, advice } = reasonOf(error, offline);
  return new PmgError(error.code, networkNeededMessage(preset, reason, advice), { cause: error, details: error.details, isRetryable: error.isRetryable });
}

/** A failing OpenAI-compatible server (the paper preset's LLM): say what to start, in one line. */
export function explainServerFailure(error: unknown, preset: ModelPreset | undefined): unknown {
  if (!preset?.llm.startsWith('openai:') || !isPmgError(error) || (error.code !== 'provider-call-failed' && error.code !== 'timeout')) return error;
  const url = preset.llm.slice('openai:'.length);
  return new PmgError(
    error.code,
    `the '${preset.name}' preset needs an OpenAI-compatible server at ${url} serving ${preset.llmModel ?? 'a chat model'} (${error.message.split('\n')[0]}); start one (see docs/demo.md), use the fast preset, or run offline with 'pmg demo --tiny'`,
    { cause: error, details: error.details },
  );
}
