/**
 * The model store a command should use: configured from the environment (PMG_CACHE_DIR,
 * HF_ENDPOINT, HF_TOKEN, PMG_OFFLINE / HF_HUB_OFFLINE), the global --offline flag, progress
 * bars on the command's stderr, and relative folders read from the command's cwd.
 */
import { createProgress } from '../core/progress.js';
import { ModelStore, modelStoreOptionsFromEnv, type ModelStoreOptions } from '../runtime/model-store.js';
import type { CommandContext } from './command.js';

export function modelStoreForCommand(context: CommandContext, overrides: Partial<ModelStoreOptions> = {}): ModelStore {
  const { io, globals } = context;
  return new ModelStore(
    modelStoreOptionsFromEnv(io.env, {
      progress: createProgress({ stream: io.stderr }),
      cwd: io.cwd,
      ...(globals.offline ? { offline: true } : {}),
      ...overrides,
    }),
  );
}
