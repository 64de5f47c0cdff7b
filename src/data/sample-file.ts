/**
 * The eval dataset `samples`: samples written out one JSON object a line (`samples.jsonl`, e.g. by `pmg rec plan`),
 * read back in file order. `--data` is the file itself or a folder holding `samples.jsonl`. Each line is checked as
 * a Sample (id unique and non-empty, user, scene, history and target as a history/target file is checked, reference
 * images, split); an error names `file:line` and the field. Protocol 'file' only; the query's split and limit apply.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseJsonText } from '../core/json-text.js';
import { PmgError } from '../errors/pmg-error.js';
import { validateHistory, validateTarget } from '../personalize/inputs.js';
import { scenes, type Sample, type Scene } from '../spec/behaviour.js';
import { checkLimit, dataSplits, type SampleQuery, type SampleSet } from './protocol.js';

export const SAMPLES_FILE = 'samples.jsonl';
export const sampleFileProtocols = ['file'] as const;

/** The samples file `data` names: the file itself, or `<data>/samples.jsonl`. */
export function sampleFilePath(data: string): string {
  if (!existsSync(data))
    throw new PmgError('file-not-found', `data: ${data} does not exist; give a samples.jsonl file or a folder holding one`, { details: { field: 'data' } });
  if (!statSync(data).isDirectory()) return data;
  const file = join(data, SAMPLES_FILE);
  if (!existsSync(file))
    throw new PmgError('file-not-found', `data: ${data} has no ${SAMPLES_FILE}; give a folder made by 'pmg rec plan' or a .jsonl file of samples`, {
      details: { field: 'data' },
    });
  return file;
}

/** The file's samples in file order (the query's seed is not used: the file fixes everything). */
export function readSampleFile(data: string, query: SampleQuery = {}): SampleSet {
  checkLimit(query.limit);
  const file = sampleFilePath(data);
  const lines = readFileSync(file, 'utf8')
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/);
  const samples: Sample[] = [];
  const seen = new Set<string>();
  let count = 0;
  lines.forEach((text, index) => {
    if (text.trim() === '') return;
    const sample = parseSampleLine(text, `${file}:${index + 1}`, seen);
    count++;
    if (query.split && sample.split !== query.split) return;
    if (query.limit !== undefined && samples.length >= query.limit) return;
    samples.push(sample);
  });
  if (count === 0) throw new PmgError('invalid-input', `${file}: no samples (the file is empty)`, { details: { file } });
  return { samples, skipped: {} };
}

function parseSampleLine(text: string, where: string, seen: Set<string>): Sample {
  let value: unknown;
  try {
    value = parseJsonText(text);
  } catch (error) {
    throw new PmgError('invalid-input', `${where}: not valid JSON (${(error as Error).message.split('\n')[0]}); each line must be one sample object`, {
      cause: error,
      details: { file: where },
    });
  }
  const fail = (field: string, message: string): never => {
    throw new PmgError('invalid-input', `${where}: ${field} ${message}`, { details: { file: where, field } });
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return fail('the line', 'must be a sample object ({"id", "user", "scene", "history", "target"})');
  const raw = value as Record<string, unknown>;
  if (typeof raw.id !== 'string' || raw.id.trim() === '') return fail('id', 'must be a non-empty string');
  if (seen.has(raw.id)) return fail('id', `'${raw.id}' is used by an earlier line; ids must be unique`);
  seen.add(raw.id);
  if (typeof raw.user !== 'string' && typeof raw.user !== 'number') return fail('user', 'must be a string');
  if (!(scenes as readonly unknown[]).includes(raw.scene)) return fail('scene', `must be one of ${scenes.join(', ')}`);
  const history = validateHistory(raw.history, where, undefined, 'history');
  const target = validateTarget(raw.target, where, undefined, 'target');
  const historyImages = raw.historyImages ?? [];
  if (!Array.isArray(historyImages) || historyImages.some((p) => typeof p !== 'string')) return fail('historyImages', 'must be a list of image paths');
  if (raw.targetImage !== undefined && typeof raw.targetImage !== 'string') return fail('targetImage', 'must be an image path');
  if (raw.split !== undefined && !(dataSplits as readonly unknown[]).includes(raw.split)) return fail('split', `must be one of ${dataSplits.join(', ')}`);
  return {
    id: raw.id,
    user: String(raw.user),
    scene: raw.scene as Scene,
    history,
    target,
    historyImages: historyImages as string[],
    ...(raw.targetImage !== undefined ? { targetImage: raw.targetImage as string } : {}),
    ...(raw.split !== undefined ? { split: raw.split as Sample['split'] & string } : {}),
  };
}
