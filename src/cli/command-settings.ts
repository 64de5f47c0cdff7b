/**
 * The settings of one command (settings/settings.ts): its environment, and for the commands with `--config` the
 * config file (`--config FILE`, else ./pmg.config.json when present). Read once per command run and passed down.
 */
import { PmgError, isPmgError } from '../errors/pmg-error.js';
import { readPmgConfig, type PmgConfig } from '../settings/config-file.js';
import { settingsFromEnvironment, type Settings } from '../settings/settings.js';
import { stringOption, type CommandContext } from './command.js';

const envOnly = new WeakMap<CommandContext, Settings>();
const withConfig = new WeakMap<CommandContext, Settings>();

/** The command's settings; `config: true` also reads the config file (commands that take `--config`). */
export function commandSettings(context: CommandContext, options: { config?: boolean } = {}): Settings {
  const cache = options.config ? withConfig : envOnly;
  let settings = cache.get(context);
  if (!settings) {
    settings = settingsFromEnvironment(context.io.env, options.config ? commandConfig(context) : {});
    cache.set(context, settings);
  }
  return settings;
}

function commandConfig(context: CommandContext): PmgConfig {
  const file = stringOption(context, 'config');
  try {
    return readPmgConfig(context.io.cwd, file, (message) => void context.io.stderr.write(`pmg: warning: ${message}\n`));
  } catch (error) {
    // The file named by --config is missing: say which flag named it.
    if (file === undefined || !isPmgError(error) || error.code !== 'file-not-found') throw error;
    throw new PmgError(error.code, error.message.replace(/; check its path$/, '; check --config'), { cause: error.cause, details: error.details });
  }
}
