/**
 * `pmg bench diffusion`: per-image time, overhead outside onnxruntime, batched guidance, memory over many
 * generations, on a fixture UNet; with `--real-scale`, the CPU times of the full-size SD 1.5 networks
 * (random weights, real architectures; bench/real-scale.ts).
 */
import { commandSettings } from '../command-settings.js';
import { resolve } from 'node:path';
import { PmgError } from '../../errors/pmg-error.js';
import { DIFFUSION_BENCH_DEFAULTS, benchDiffusion, formatDiffusionBench } from '../../bench/diffusion.js';
import { REAL_SCALE_BENCH_DEFAULTS, benchRealScale } from '../../bench/real-scale.js';
import { formatRealScaleBench } from '../../bench/real-scale-report.js';
import { realScaleDir } from '../../fixtures/real-scale-fixtures.js';
import { resolveSchedulerName } from '../../schedulers/index.js';
import { booleanOption, stringOption, type Command, type CommandContext } from '../command.js';
import { intListOption, intOption } from '../option-values.js';

const d = DIFFUSION_BENCH_DEFAULTS;
const r = REAL_SCALE_BENCH_DEFAULTS;

/** Flags of the fixture bench only, and of the real-scale bench only (defaults live in the descriptions, so a given flag can be told from an absent one). */
const FIXTURE_ONLY = ['steps', 'size', 'generations', 'unet-scale', 'scheduler'] as const;
const REAL_SCALE_ONLY = ['dir', 'sizes', 'batches', 'attention', 'paper-steps'] as const;

export const benchDiffusionCommand: Command = {
  name: 'bench diffusion',
  summary: 'time the diffusion pipeline on a fixture UNet, or the full-size SD 1.5 networks with --real-scale',
  usage:
    '[--steps N] [--size PX] [--repeats N] [--generations N] [--unet-scale S] [--threads N] [--json]\n       pmg bench diffusion --real-scale [--dir DIR] [--sizes 256,512] [--batches 1,2,4] [--repeats N] [--attention fused|matmul] [--paper-steps N] [--threads N] [--json]',
  options: {
    steps: { type: 'string', value: 'N', description: `denoising steps per image (default: ${d.steps})` },
    size: { type: 'string', value: 'PX', description: `image side (multiple of 8) (default: ${d.width})` },
    repeats: {
      type: 'string',
      value: 'N',
      description: `timed generations (medians) (default: ${d.repeats}); with --real-scale, timed calls per figure after one warm-up (default: ${r.repeats})`,
    },
    generations: { type: 'string', value: 'N', description: `generations before the second memory reading (default: ${d.generations})` },
    'unet-scale': { type: 'string', value: 'S', description: `width of the fixture UNet (8 -> tens of ms per call) (default: ${d.unetScale})` },
    scheduler: { type: 'string', value: 'NAME', description: `scheduler (default: ${d.scheduler})` },
    threads: { type: 'string', value: 'N', description: "intra-op threads (default: the machine's cores)" },
    'real-scale': {
      type: 'boolean',
      description:
        'measure the full-size SD 1.5 networks (UNet 860 M parameters, VAE, CLIP text encoder) with random weights; writes them on first use (4.0 GB, 20-30 s)',
    },
    dir: {
      type: 'string',
      value: 'DIR',
      description: 'with --real-scale: the real-scale fixtures folder (default: <PMG_CACHE_DIR or ~/.cache/pmg>/real-scale)',
    },
    sizes: { type: 'string', value: 'PX,...', description: `with --real-scale: image sides, multiples of 64 (default: ${r.sizes.join(',')})` },
    batches: { type: 'string', value: 'N,...', description: `with --real-scale: UNet batch sizes (default: ${r.batches.join(',')})` },
    attention: {
      type: 'string',
      value: 'matmul|fused',
      description:
        "with --real-scale: the UNet's and VAE's attention fused into onnxruntime's MultiHeadAttention kernel by pmg's rewrite, as pmg loads hub models on CPU (fused, default), or as exported (matmul)",
    },
    'paper-steps': {
      type: 'string',
      value: 'N',
      description: 'with --real-scale: steps of the paper preset actually run; the rest of its 30 are extrapolated (default 2)',
    },
    json: { type: 'boolean', description: 'print JSON' },
  },
  details:
    "The fixture bench shows pmg's own overhead; --real-scale shows what a user waits for: seconds per UNet call per size and batch, VAE decode and encode, text encoder, session creation, peak RSS, GFLOP/s, the share of a generation outside onnxruntime, and the compute of the fast and paper presets estimated from those. `--sizes 256 --batches 1 --repeats 1` takes about a minute once the models exist. See docs/performance.md.",
  async run(context) {
    return booleanOption(context, 'real-scale') ? runRealScale(context) : runFixture(context);
  },
};

function given(context: CommandContext, names: readonly string[]): string | undefined {
  return names.find((name) => context.values[name] !== undefined);
}

async function runFixture(context: CommandContext): Promise<number> {
  const stray = given(context, REAL_SCALE_ONLY);
  if (stray) throw new PmgError('invalid-argument', `--${stray} is a flag of the real-scale bench; add --real-scale`, { details: { field: stray } });
  const positive = (name: string, fallback: number): number => intOption(context, name, { min: 1, fallback });
  const size = positive('size', d.width);
  if (size % 8 !== 0) throw new PmgError('invalid-argument', `--size must be a multiple of 8, got ${size}`);
  const threads = intOption(context, 'threads', { min: 1 });
  const options = {
    steps: positive('steps', d.steps),
    width: size,
    height: size,
    repeats: positive('repeats', d.repeats),
    generations: positive('generations', d.generations),
    unetScale: positive('unet-scale', d.unetScale),
    scheduler: resolveSchedulerName(stringOption(context, 'scheduler') ?? d.scheduler),
    ...(threads !== undefined ? { threads } : {}),
  };
  const result = await benchDiffusion(options, (line) => void context.io.stderr.write(`${line}\n`));
  const command = `pmg bench diffusion --steps ${options.steps} --size ${size} --repeats ${options.repeats} --generations ${options.generations} --unet-scale ${options.unetScale} --scheduler ${options.scheduler}${options.threads ? ` --threads ${options.threads}` : ''}`;
  context.io.stdout.write(booleanOption(context, 'json') ? `${JSON.stringify({ command, ...result }, null, 2)}\n` : formatDiffusionBench(result, command));
  return 0;
}

async function runRealScale(context: CommandContext): Promise<number> {
  const stray = given(context, FIXTURE_ONLY);
  if (stray)
    throw new PmgError(
      'invalid-argument',
      `--${stray} is a flag of the fixture bench; with --real-scale use --sizes, --batches, --repeats, --threads or --dir`,
      { details: { field: stray } },
    );
  const sizes = intListOption(context, 'sizes', { min: 64, max: 2048, fallback: r.sizes });
  const bad = sizes.find((size) => size % 64 !== 0);
  if (bad !== undefined)
    throw new PmgError('invalid-argument', `--sizes: ${bad} is not a multiple of 64 (the UNet halves the 1/8-size latent three times)`, {
      details: { field: 'sizes' },
    });
  const batches = intListOption(context, 'batches', { min: 1, max: 16, fallback: r.batches });
  const repeats = intOption(context, 'repeats', { min: 1, max: 100, fallback: r.repeats });
  const threads = intOption(context, 'threads', { min: 1 });
  const attention = stringOption(context, 'attention') ?? 'fused';
  if (attention !== 'matmul' && attention !== 'fused')
    throw new PmgError('invalid-argument', `--attention must be matmul or fused, got '${attention}'`, { details: { field: 'attention' } });
  const dirText = stringOption(context, 'dir');
  const dir = dirText !== undefined ? resolve(context.io.cwd, dirText) : realScaleDir(commandSettings(context).cacheDir);
  const paperSteps = intOption(context, 'paper-steps', { min: 1, max: 30, fallback: r.paperSteps });
  const options = {
    dir,
    sizes,
    batches,
    repeats,
    attention,
    pipelineSteps: r.pipelineSteps,
    paperSteps,
    ...(threads !== undefined ? { threads } : {}),
  } as const;
  const result = await benchRealScale(options, (line) => void context.io.stderr.write(`${line}\n`));
  const command = `pmg bench diffusion --real-scale --sizes ${sizes.join(',')} --batches ${batches.join(',')} --repeats ${repeats} --attention ${attention} --paper-steps ${paperSteps}${threads ? ` --threads ${threads}` : ''}${dirText !== undefined ? ` --dir ${dirText}` : ''}`;
  context.io.stdout.write(booleanOption(context, 'json') ? `${JSON.stringify({ command, ...result }, null, 2)}\n` : formatRealScaleBench(result, command));
  return 0;
}
