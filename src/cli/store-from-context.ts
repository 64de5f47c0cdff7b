/**
 * The model store a command should use: configured from the command's settings (PMG_CACHE_DIR, XDG_CACHE_HOME,
 * HF_ENDPOINT, HF_TOKEN, PMG_OFFLINE / HF_HUB_OFFLINE), the global --offline flag, progress
 * bars on the command's stderr, and relative folders read from the command's cwd.
 */
import { createProgress } from '../core/progress.js';
import { ModelStore, modelStoreOptions, type ModelStoreOptions } from '../runtime/model-store.js';
import type { CommandContext } from './command.js';
import { commandSettings } from './command-settings.js';

export function modelStoreForCommand(context: CommandContext, overrides: Partial<ModelStoreOptions> = {}): ModelStore {
  const { io, globals } = context;
  return new ModelStore(
    modelStoreOptions(commandSettings(context), {
      progress: createProgress({ stream: io.stderr }),
      cwd: io.cwd,
      ...(globals.offline ? { offline: true } : {}),
      ...overrides,
    }),
  );
}
