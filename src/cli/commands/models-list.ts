/** `pmg models list`: what the model cache holds, with sizes. */
import { formatBytes } from '../../core/progress.js';
import { booleanOption, type Command } from '../command.js';
import { modelStoreForCommand } from '../store-from-context.js';

export const modelsListCommand: Command = {
  name: 'models list',
  summary: 'list the models in the cache with their sizes',
  usage: '[--json]',
  options: {
    json: { type: 'boolean', description: 'print the list as JSON (id, revision, dir, files, bytes, commit, incompleteBytes)' },
  },
  details: 'The cache is $PMG_CACHE_DIR (default: $XDG_CACHE_HOME/pmg or ~/.cache/pmg). Partial downloads are shown as "+N partial".',
  async run(context) {
    const store = modelStoreForCommand(context);
    const models = await store.list();
    const { stdout } = context.io;
    if (booleanOption(context, 'json')) {
      stdout.write(`${JSON.stringify(models, null, 2)}\n`);
      return 0;
    }
    if (models.length === 0) {
      stdout.write(`no models in the cache ${store.options.cacheDir}; download one with 'pmg models pull <owner/name>'\n`);
      return 0;
    }
    const rows = [
      ['MODEL', 'REVISION', 'FILES', 'SIZE', 'PATH'],
      ...models.map((m) => [
        m.id,
        m.revision,
        String(m.files),
        `${formatBytes(m.bytes)}${m.incompleteBytes > 0 ? ` (+${formatBytes(m.incompleteBytes)} partial)` : ''}`,
        m.dir,
      ]),
    ];
    const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
    for (const row of rows) stdout.write(`${row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')}\n`);
    const total = models.reduce((sum, m) => sum + m.bytes, 0);
    stdout.write(`${models.length} model revision(s), ${formatBytes(total)} in ${store.options.cacheDir}\n`);
    return 0;
  },
};
