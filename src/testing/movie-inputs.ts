/**
 * The small movie user many tests personalize for (Heat and Toy Story, then the target Alien): as data, as the
 * fields of a personalize request, as the h.json / t.json files the CLI reads, and as the argv of a small
 * `pmg generate` over the fixture models.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { History, Item, Scene, Target } from '../spec/behaviour.js';

export const movieHistoryItems: Item[] = [
  { title: 'Heat', genres: ['Action', 'Crime'] },
  { title: 'Toy Story (1995)', genres: ['Animation'] },
];

export const movieTarget: Item = { title: 'Alien', genres: ['Horror'], description: 'A crew meets a creature.' };

/** The data fields of a 64×64, seed-3 personalize request for a history and target (by default the ones above). */
export function movieRequest(
  steps: number,
  items: Item[] = movieHistoryItems,
  target: Item = movieTarget,
): { scene: Scene; history: History; target: Target; steps: number; width: number; height: number; seed: number } {
  return { scene: 'movie', history: { items }, target: { item: target }, steps, width: 64, height: 64, seed: 3 };
}

/** Write `<dir>/h.json` (the history's items) and `<dir>/t.json` (the target item). */
export function writeMovieInputs(dir: string, items: Item[] = movieHistoryItems, target: Item = movieTarget): void {
  writeFileSync(join(dir, 'h.json'), JSON.stringify(items));
  writeFileSync(join(dir, 't.json'), JSON.stringify(target));
}

/** `pmg generate` on the models in `models` (default fx) with h.json and t.json, 64×64; add the flags under test after it. */
export function generateArgv(steps: number, options: { models?: string; noCache?: boolean } = {}): string[] {
  const argv = ['generate', '--models', options.models ?? 'fx', '--scene', 'movie', '--history', 'h.json', '--target', 't.json'];
  argv.push('--steps', String(steps), '--width', '64', '--height', '64');
  return options.noCache === false ? argv : [...argv, '--no-cache'];
}
