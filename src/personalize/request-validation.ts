/**
 * The shape of a personalization request from the library, checked before anything runs: a request built in
 * JavaScript (no compiler) or parsed from JSON can have any value in any field, and each wrong one is one
 * `PmgError('invalid-input')` whose message and `details.field` name the field path (`history.items[3].title`),
 * never a TypeError from deep inside the pipeline. History and target go through the same validators as the
 * CLI's files (inputs.ts) and come back normalized (a bare list of items becomes `{ items }`).
 */
import { PmgError } from '../errors/pmg-error.js';
import { scenes, type History, type Scene, type Target } from '../spec/behaviour.js';
import { validateHistory, validateTarget } from './inputs.js';

const NUMBER_FIELDS = [
  'alpha',
  'targetWeight',
  'fixedWeight',
  'earlyFraction',
  'earlyKeep',
  'previewScale',
  'previewEvery',
  'steps',
  'guidance',
  'seed',
  'width',
  'height',
] as const;
const STRING_FIELDS = ['method', 'mode', 'search', 'scheduler', 'negative', 'promptStyle', 'finalDecoder'] as const;

/** The request's scene, history and target, checked and normalized; the other fields' types checked. */
export function validateRequestShape(request: unknown): { scene: Scene; history: History; target: Target } {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    throw invalid('', `a personalization request must be an object with scene, history and target, got ${describe(request)}`);
  }
  const r = request as Record<string, unknown>;
  if (typeof r.scene !== 'string' || !scenes.includes(r.scene as Scene)) {
    throw invalid('scene', `scene must be one of ${scenes.join(', ')}, got ${describe(r.scene)}`);
  }
  if (r.history === undefined) throw invalid('history', 'history is missing; give { items: [...] } (and/or a conversation)');
  if (r.target === undefined) throw invalid('target', 'target is missing; give { item: {...} } (stickers: { conversation: [...] })');
  const history = validateHistory(r.history, '', undefined, 'history');
  const target = validateTarget(r.target, '', undefined, 'target');
  for (const field of NUMBER_FIELDS) {
    const value = r[field];
    if (value !== undefined && (typeof value !== 'number' || Number.isNaN(value))) throw invalid(field, `${field} must be a number, got ${describe(value)}`);
  }
  for (const field of STRING_FIELDS) {
    const value = r[field];
    if (value !== undefined && typeof value !== 'string') throw invalid(field, `${field} must be a string, got ${describe(value)}`);
  }
  if (r.weights !== undefined) {
    if (!Array.isArray(r.weights)) throw invalid('weights', `weights must be a list of numbers, got ${describe(r.weights)}`);
    r.weights.forEach((w, i) => {
      if (typeof w !== 'number' || Number.isNaN(w)) throw invalid(`weights[${i}]`, `weights[${i}] must be a number, got ${describe(w)}`);
    });
  }
  return { scene: r.scene as Scene, history, target };
}

function invalid(field: string, message: string): PmgError {
  return new PmgError('invalid-input', message, { details: field ? { field } : {} });
}

/** A short description of a wrong value for messages (strings quoted and cut at 40 characters). */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return typeof value === 'string'
    ? JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
    : typeof value === 'object'
      ? 'an object'
      : String(value);
}
