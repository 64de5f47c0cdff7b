/**
 * The CLI's side of the job model (jobs/generation-job.ts): a field-path error of `checkGenerationJob` is told in
 * the flag or file that supplied the field — `history.items[3].title` → `--history h.json: items[3].title ...`,
 * `earlyFraction` → `--early-fraction`, `soft.weight` → `--soft-weight`. Flags give 'invalid-argument' (exit 2),
 * the history and target files 'invalid-input' (exit 4), as the CLI's own checks do.
 */
import { PmgError } from '../errors/pmg-error.js';

/** The files behind the job's history and target, as the user named them. */
export interface JobSources {
  history: string;
  target: string;
}

const softFlags: Record<string, string> = { module: '--soft', llmBody: '--llm-body', weight: '--soft-weight', allowLlmMismatch: '--allow-llm-mismatch' };

/** Where a job field came from: `{ label: '--history h.json', rest: 'items[3].title' }` or `{ label: '--steps', rest: '' }`. */
export function jobFieldSource(field: string, sources: JobSources): { label: string; rest: string; file: boolean } {
  const root = /^[A-Za-z]+/.exec(field)?.[0] ?? field;
  const rest = field.slice(root.length).replace(/^\./, '');
  if (root === 'history' || root === 'target') return { label: `--${root} ${sources[root]}`, rest, file: true };
  if (root === 'soft') {
    const [sub = ''] = rest.split(/[.[]/);
    return { label: softFlags[sub] ?? '--soft', rest: '', file: false };
  }
  return { label: `--${root.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, rest: '', file: false };
}

/** Runs `check` (a job validation); a field-path error comes back in terms of flags and files. */
export function withJobFlags<T>(check: () => T, sources: JobSources): T {
  try {
    return check();
  } catch (error) {
    throw jobErrorForCli(error, sources);
  }
}

export function jobErrorForCli(error: unknown, sources: JobSources): unknown {
  if (!(error instanceof PmgError) || typeof error.details.field !== 'string' || error.details.field === '') return error;
  const field = error.details.field;
  const { label, rest, file } = jobFieldSource(field, sources);
  // The message starts with the field path (`steps must be ...`, `targetWeight: ...`): say it as the flag and file.
  const where = rest ? `${label}: ${rest}` : label;
  const body = error.message.startsWith(`${field}: `)
    ? `: ${error.message.slice(field.length + 2)}`
    : error.message.startsWith(field)
      ? error.message.slice(field.length)
      : `: ${error.message}`;
  return new PmgError(file ? 'invalid-input' : 'invalid-argument', `${where}${body}`, {
    cause: error,
    details: { ...error.details, flag: label.split(' ')[0] },
  });
}

/** Fields whose flag is not their kebab-case name: a soft module's sizes P and N. */
const FIELD_FLAGS: Readonly<Record<string, string>> = { P: 'prefix', N: 'tokens' };

/** `memoryBudget` → `memory-budget`: the CLI's flag name of an option field. */
export function flagName(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/**
 * An error from below cli/ that names an option in neutral words — `details.field` is an option name (`models`,
 * `finalDecoder`) and the message starts with it — told as the command's flag: `models 'x' is neither ...` →
 * `--models 'x' is neither ...`. Errors of other fields, of options the command does not have, or already told as a
 * flag come back unchanged.
 */
export function optionErrorForCli(error: unknown, options: Readonly<Record<string, unknown>>): unknown {
  if (!(error instanceof PmgError) || error.details.flag !== undefined) return error;
  const field = error.details.field;
  if (typeof field !== 'string' || !/^([a-z][A-Za-z]*|[PN])$/.test(field)) return error;
  const flag = FIELD_FLAGS[field] ?? flagName(field);
  if (!Object.hasOwn(options, flag)) return error;
  const rest = error.message.slice(field.length);
  if (!error.message.startsWith(field) || !/^[\s:]/.test(rest)) return error;
  return new PmgError(error.code, `--${flag}${rest}`, { cause: error, details: { ...error.details, flag: `--${flag}` }, isRetryable: error.isRetryable });
}
