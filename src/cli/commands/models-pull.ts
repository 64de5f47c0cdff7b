/** `pmg models pull <id>`: download a hub model (or part of it) into the cache. */
import { formatBytes } from '../../core/progress.js';
import { PmgError } from '../../errors/pmg-error.js';
import { stringOption, booleanOption, type Command } from '../command.js';
import { modelStoreForCommand } from '../store-from-context.js';

export const modelsPullCommand: Command = {
  name: 'models pull',
  summary: 'download a model from the Hugging Face hub (or the HF_ENDPOINT mirror) into the cache',
  usage: '<owner/name[@revision]> [--revision R] [--include GLOB ...] [--json]',
  options: {
    revision: { type: 'string', value: 'R', description: 'branch, tag or commit to download (default: the @revision in the id, else main)' },
    include: {
      type: 'string',
      multiple: true,
      value: 'GLOB',
      description: "download only files matching this pattern (repeatable; '*' also crosses '/'), e.g. 'onnx/*' or '*.json'",
    },
    json: { type: 'boolean', description: 'print the result as JSON on stdout' },
  },
  positionals: { name: 'id', description: 'hub repo id, e.g. Xenova/clip-vit-base-patch32 or owner/name@v1.0', min: 1, max: 1 },
  details: [
    'Files go to $PMG_CACHE_DIR/models/<owner>--<name>/<revision>/ (default cache: $XDG_CACHE_HOME/pmg or ~/.cache/pmg).',
    'Downloads resume after an interruption and are checked by size and sha256; a second pull of a',
    'complete model makes no network request. HF_ENDPOINT sets a mirror, HF_TOKEN a token for private or gated repos.',
    '',
    'Examples:',
    '  pmg models pull Xenova/clip-vit-base-patch32',
    "  HF_ENDPOINT=https://hf-mirror.com pmg models pull onnx-community/Qwen2.5-0.5B-Instruct --include 'onnx/model.onnx' --include '*.json'",
  ].join('\n'),
  async run(context) {
    let id = context.positionals[0]!;
    const revision = stringOption(context, 'revision');
    if (revision !== undefined) {
      if (!revision.trim()) throw new PmgError('invalid-argument', '--revision is empty; give a branch, tag or commit');
      const at = id.indexOf('@');
      if (at !== -1 && id.slice(at + 1) !== revision) {
        throw new PmgError('invalid-argument', `'${id}' names revision '${id.slice(at + 1)}' but --revision says '${revision}'; give one of them`);
      }
      id = `${at === -1 ? id : id.slice(0, at)}@${revision}`;
    }
    const include = (context.values.include as string[] | undefined) ?? [];
    const store = modelStoreForCommand(context);
    const result = await store.pull(id, { include });
    if (booleanOption(context, 'json')) {
      context.io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return 0;
    }
    const fetched = result.downloadedBytes > 0 ? `downloaded ${formatBytes(result.downloadedBytes)}` : 'already cached, nothing downloaded';
    context.io.stdout.write(
      `${result.id}@${result.revision}: ${result.files.length} file(s), ${formatBytes(result.totalBytes)}; ${fetched}\n${result.dir}\n`,
    );
    return 0;
  },
};
