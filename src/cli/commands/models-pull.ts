/** `pmg models pull <id>`: download a hub model (or part of it) into the cache. */
import { formatBytes } from '../../core/progress.js';
import { PmgError } from '../../errors/pmg-error.js';
import { ensureFp32Copies } from '../../runtime/fp32-copies.js';
import { stringOption, booleanOption, type Command } from '../command.js';
import { modelStoreForCommand } from '../store-from-context.js';

export const modelsPullCommand: Command = {
  name: 'models pull',
  summary: 'download a model from the Hugging Face hub (or the HF_ENDPOINT mirror) into the cache',
  usage: '<owner/name[@revision]> [--revision R] [--include GLOB ...] [--dtype fp32] [--json]',
  options: {
    revision: { type: 'string', value: 'R', description: 'branch, tag or commit to download (default: the @revision in the id, else main)' },
    include: {
      type: 'string',
      multiple: true,
      value: 'GLOB',
      description: "download only files matching this pattern (repeatable; '*' also crosses '/'), e.g. 'onnx/*' or '*.json'",
    },
    dtype: {
      type: 'string',
      value: 'fp32',
      description:
        'fp32: write an fp32 copy beside every fp16 ONNX graph pulled (model.fp32.onnx + .data), which CPU runs load instead (done on first CPU use anyway; fp16 stays for CUDA)',
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
    const dtype = stringOption(context, 'dtype');
    if (dtype !== undefined && dtype !== 'fp32')
      throw new PmgError(
        'invalid-argument',
        `--dtype must be fp32 (an fp32 copy of fp16 graphs for CPU), got '${dtype}'; leave it out to keep the files as published`,
      );
    const store = modelStoreForCommand(context);
    const result = await store.pull(id, { include });
    const onnxFiles = result.files.filter((file) => file.endsWith('.onnx'));
    const copies =
      dtype === 'fp32' ? ensureFp32Copies(result.dir, onnxFiles, (file) => void context.io.stderr.write(`converting ${file} from fp16 to fp32 ...\n`)) : [];
    if (booleanOption(context, 'json')) {
      context.io.stdout.write(`${JSON.stringify(dtype ? { ...result, fp32: copies } : result, null, 2)}\n`);
      return 0;
    }
    const fetched = result.downloadedBytes > 0 ? `downloaded ${formatBytes(result.downloadedBytes)}` : 'already cached, nothing downloaded';
    context.io.stdout.write(`${result.id}@${result.revision}: ${result.files.length} file(s), ${formatBytes(result.totalBytes)}; ${fetched}\n`);
    for (const copy of copies) {
      const c = copy.conversion;
      const what =
        copy.status === 'fp32'
          ? 'already fp32'
          : copy.status === 'kept'
            ? 'fp32 copy already there'
            : `fp32 copy written: ${formatBytes(c!.bytes)} in ${(c!.ms / 1000).toFixed(1)} s`;
      context.io.stdout.write(`${copy.file}: ${what}\n`);
    }
    context.io.stdout.write(`${result.dir}\n`);
    return 0;
  },
};
