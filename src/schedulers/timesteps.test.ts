/**
 * Timesteps for EVERY step count from 1 to 1000, in all three spacings, for each family of schedulers whose
 * timestep code differs in diffusers, against scripts/reference/schedulers.py (numpy's arithmetic, as diffusers'
 * set_timesteps): a hash per step count, and the full arrays for a few counts (among them 48, 96, 112 and 144, where
 * a plain `start + i * step` trailing spacing was off by one). Euler with Karras sigmas has fractional float32
 * timesteps that depend on numpy's float32 log; those are compared in full within a tolerance.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { createScheduler } from './index.js';
import reference from './reference/timesteps.json' with { type: 'json' };

interface Family {
  id: string;
  schedulers: string[];
  config: Record<string, unknown>;
  hashes?: (string | null)[];
  full: Record<string, number[]>;
}

/** First 16 hex digits of sha256 over the timesteps as little-endian float64 (the script's timesteps_hash). */
function timestepsHash(timesteps: readonly number[]): string {
  const bytes = new DataView(new ArrayBuffer(timesteps.length * 8));
  timesteps.forEach((t, i) => bytes.setFloat64(i * 8, t, true));
  return createHash('sha256').update(new Uint8Array(bytes.buffer)).digest('hex').slice(0, 16);
}

function timestepsOf(scheduler: string, config: Record<string, unknown>, steps: number): readonly number[] {
  const s = createScheduler(scheduler, config);
  s.setTimesteps(steps);
  return s.timesteps;
}

describe('timesteps for every step count match numpy (diffusers set_timesteps)', () => {
  it('covers every family and spacing the issue names', () => {
    const ids = (reference.families as Family[]).map((f) => f.id);
    for (const family of ['ddim-ddpm', 'pndm-plms', 'pndm-prk', 'euler', 'dpm-solver++']) {
      for (const spacing of ['leading', 'trailing', 'linspace']) assert.ok(ids.includes(`${family}/${spacing}`), `${family}/${spacing}`);
    }
    const counted = (reference.families as Family[]).find((f) => f.id === 'ddim-ddpm/trailing')!.hashes!.filter((h) => h !== null).length;
    assert.equal(counted, 1000, 'step counts 1..1000');
  });

  for (const family of reference.families as Family[]) {
    for (const scheduler of family.schedulers) {
      it(`${scheduler}: ${family.id}`, () => {
        const wrong: number[] = [];
        family.hashes!.forEach((expected, i) => {
          if (expected !== null && timestepsHash(timestepsOf(scheduler, family.config, i + 1)) !== expected) wrong.push(i + 1);
        });
        for (const [steps, expected] of Object.entries(family.full))
          assert.deepEqual([...timestepsOf(scheduler, family.config, Number(steps))], expected, `${steps} steps`);
        if (wrong.length > 0)
          assert.fail(
            `${wrong.length} step counts give other timesteps: ${wrong.join(', ')}; ${wrong[0]} steps give ${timestepsOf(scheduler, family.config, wrong[0]!).join(',')}`,
          );
      });
    }
  }

  it('trailing spacing uses numpy arange arithmetic: 48 steps end at timestep 20, not 19', () => {
    const ts = timestepsOf('ddim', { timestep_spacing: 'trailing' }, 48);
    assert.equal(ts.length, 48);
    assert.deepEqual(ts.slice(0, 3), [999, 978, 957]);
    assert.equal(ts.at(-1), 20);
  });

  for (const family of reference.tolerance_families as Family[]) {
    it(`${family.id} (fractional timesteps, within 1e-6 relative)`, () => {
      for (const [steps, expected] of Object.entries(family.full)) {
        const actual = timestepsOf('euler', family.config, Number(steps));
        assert.equal(actual.length, expected.length);
        actual.forEach((t, i) =>
          assert.ok(Math.abs(t - expected[i]!) <= 1e-6 * Math.max(1, Math.abs(expected[i]!)), `${steps} steps, [${i}]: ${t} vs ${expected[i]}`),
        );
      }
    });
  }
});
