/** `pmg bench metrics`: images/s of each metric at batch 1 and 16 on the fixture networks, and the time of a 2048-d FID. */
import { PmgError } from '../../errors/pmg-error.js';
import { benchMetrics, formatMetricsBench } from '../../bench/metrics.js';
import { benchEvalStages, formatEvalStages } from '../../bench/eval-stages.js';
import { metricInfo, type MetricName } from '../../metrics/registry.js';
import { booleanOption, stringOption, type Command } from '../command.js';
import { intOption } from '../option-values.js';

export const benchMetricsCommand: Command = {
  name: 'bench metrics',
  summary: 'images per second of each metric at batch 1 and 16, the time of one 2048-d FID, and the share of an eval run per stage, on the fixture networks',
  usage: '[--metrics ssim,lpips,...] [--repeats N] [--size PX] [--clip DIR] [--no-fid-2048] [--no-eval] [--json]',
  options: {
    metrics: { type: 'string', value: 'LIST', description: 'comma-separated metrics (default: all)' },
    repeats: { type: 'string', value: 'N', description: 'timed runs per cell; the median is shown', default: '5' },
    size: { type: 'string', value: 'PX', description: 'side of the synthetic square images', default: '64' },
    clip: { type: 'string', value: 'DIR', description: 'a CLIP folder for clip-t / clip-i (default: the tiny fixture CLIP)' },
    'no-fid-2048': {
      type: 'boolean',
      description: 'skip timing one Fréchet distance between two dense 2048-d Gaussians (Inception pool3 width; about 10 s on 2 cores)',
    },
    'no-eval': { type: 'boolean', description: 'skip the small fixture eval run that measures the share of each stage (LLM, diffusion, scoring, metrics)' },
    json: { type: 'boolean', description: 'print JSON' },
  },
  async run(context) {
    const metrics = stringOption(context, 'metrics')
      ?.split(',')
      .map((m) => metricInfo(m.trim()).name as MetricName);
    const repeats = intOption(context, 'repeats', { min: 1, fallback: 5 });
    const imageSize = intOption(context, 'size', { min: 1, fallback: 64 });
    if (imageSize < 11) throw new PmgError('invalid-argument', `--size must be at least 11 (the SSIM window), got ${imageSize}`);
    const result = await benchMetrics({ metrics, repeats, imageSize, clipDir: stringOption(context, 'clip'), fid2048: !booleanOption(context, 'no-fid-2048') });
    const command = `pmg bench metrics${metrics ? ` --metrics ${metrics.join(',')}` : ''} --repeats ${repeats} --size ${imageSize}`;
    const evalStages = booleanOption(context, 'no-eval') ? undefined : await benchEvalStages();
    context.io.stdout.write(
      booleanOption(context, 'json')
        ? `${JSON.stringify({ command, ...result, ...(evalStages ? { evalStages } : {}) }, null, 2)}\n`
        : `${formatMetricsBench(result, command)}${evalStages ? `\n${formatEvalStages(evalStages)}` : ''}`,
    );
    return 0;
  },
};
