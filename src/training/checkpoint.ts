/**
 * A run's checkpoint, RUN_DIR/checkpoint/: `soft.safetensors` (the module's tensors), `optimizer.safetensors`
 * (AdamW's moments, `<name>.m` / `<name>.v`) and `state.json` (step, settings). Randomness needs no stored state: every
 * draw of step k comes from a stream seeded by (seed, k, sample slot) (trainer.ts), so the step is the RNG state.
 * Written atomically: a sibling temporary folder, then renamed into place (the previous checkpoint is removed only
 * after the new one is in place), so a kill at any moment leaves the old or the new checkpoint, never half of one.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { swapFolderSync } from '../core/atomic-write.js';
import { encodeSafetensors, f32Tensor, readSafetensors, tensorFloats, type SafetensorsTensor } from '../core/safetensors.js';
import { parseJson } from '../core/json-text.js';
import type { AdamWState } from './adamw.js';

export const CHECKPOINT_DIR = 'checkpoint';

export interface Checkpoint {
  step: number;
  settings: Record<string, unknown>;
  params: Record<string, Float32Array>;
  optimizer: AdamWState;
}

export function writeCheckpoint(runDir: string, checkpoint: Checkpoint): void {
  const final = join(runDir, CHECKPOINT_DIR);
  const temp = join(runDir, `.${CHECKPOINT_DIR}.tmp`);
  const old = join(runDir, `.${CHECKPOINT_DIR}.old`);
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(temp);
  const params = new Map<string, SafetensorsTensor>();
  const moments = new Map<string, SafetensorsTensor>();
  for (const [name, values] of Object.entries(checkpoint.params)) {
    params.set(name, f32Tensor(values, [values.length]));
    const slot = checkpoint.optimizer.slots[name]!;
    moments.set(`${name}.m`, f32Tensor(slot.m, [slot.m.length]));
    moments.set(`${name}.v`, f32Tensor(slot.v, [slot.v.length]));
  }
  writeFileSync(join(temp, 'soft.safetensors'), encodeSafetensors(params, { format: 'pt' }));
  writeFileSync(join(temp, 'optimizer.safetensors'), encodeSafetensors(moments, { format: 'pt' }));
  writeFileSync(
    join(temp, 'state.json'),
    `${JSON.stringify({ step: checkpoint.step, optimizerStep: checkpoint.optimizer.step, rng: 'per-step streams seeded by (seed, step, slot)', settings: checkpoint.settings }, null, 2)}\n`,
  );
  swapFolderSync(temp, final, old);
}

export function readCheckpoint(runDir: string): Checkpoint | undefined {
  const dir = join(runDir, CHECKPOINT_DIR);
  // A kill between the two renames leaves only the previous checkpoint, under its old name.
  const from = existsSync(join(dir, 'state.json'))
    ? dir
    : existsSync(join(runDir, `.${CHECKPOINT_DIR}.old`, 'state.json'))
      ? join(runDir, `.${CHECKPOINT_DIR}.old`)
      : undefined;
  if (!from) return undefined;
  const stateFile = join(from, 'state.json');
  const state = parseJson(readFileSync(stateFile, 'utf8'), stateFile) as { step: number; optimizerStep: number; settings: Record<string, unknown> };
  const paramsFile = join(from, 'soft.safetensors');
  const momentsFile = join(from, 'optimizer.safetensors');
  const params: Record<string, Float32Array> = {};
  const slots: AdamWState['slots'] = {};
  const read = readSafetensors(paramsFile);
  const moments = readSafetensors(momentsFile);
  for (const [name, tensor] of read.tensors) {
    params[name] = tensorFloats(name, tensor, paramsFile);
    slots[name] = {
      m: tensorFloats(`${name}.m`, moments.tensors.get(`${name}.m`)!, momentsFile),
      v: tensorFloats(`${name}.v`, moments.tensors.get(`${name}.v`)!, momentsFile),
    };
  }
  return { step: state.step, settings: state.settings, params, optimizer: { step: state.optimizerStep, slots } };
}
