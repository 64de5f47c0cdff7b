/** `pmg models grad-check <model.onnx> --wrt A,B --output NAME`: build a model's gradient graph and load it in onnxruntime. */
import { resolve } from 'node:path';
import { gradientName } from '../../autodiff/build-gradient-model.js';
import { openGradientSession } from '../../autodiff/gradient-session.js';
import { PmgError } from '../../errors/pmg-error.js';
import { booleanOption, stringOption, type Command } from '../command.js';

export const modelsGradCheckCommand: Command = {
  name: 'models grad-check',
  summary: "build a frozen ONNX model's gradient graph (what the trainer runs) and load it; lists what is differentiated",
  usage: '<model.onnx> --wrt NAMES --output NAME [--head cotangent|mse] [--checkpoint-segments N] [--json]',
  positionals: { name: 'model.onnx', description: 'the ONNX model (external-data weights beside it are fine)', min: 1, max: 1 },
  options: {
    wrt: {
      type: 'string',
      value: 'NAMES',
      description: 'comma-separated float inputs to differentiate, e.g. encoder_hidden_states or inputs_embeds,past_key_values.0.key',
    },
    output: { type: 'string', value: 'NAME', description: 'the output whose vector-Jacobian product is taken, e.g. out_sample' },
    head: {
      type: 'string',
      value: 'HEAD',
      description: "'cotangent' (default: the caller gives the output's cotangent) or 'mse' (the caller gives a target; the graph returns the loss)",
    },
    'checkpoint-segments': {
      type: 'string',
      value: 'N',
      description: 'recompute the forward in N segments during the backward (less memory, more time; default 1: keep every activation)',
    },
    json: { type: 'boolean', description: 'print the summary as JSON' },
  },
  details: [
    'Nothing is run and nothing is written beside the model: the graph is built in memory and loaded by onnxruntime (CPU).',
    'An op without a gradient rule, or a contrib op (fused attention, MatMulNBits) on the differentiated path, is one error naming them.',
    'Example: pmg models grad-check fx/sd/unet/model.onnx --wrt encoder_hidden_states --output out_sample --head mse. See docs/autodiff.md.',
  ].join('\n'),
  async run(context) {
    const path = resolve(context.io.cwd, context.positionals[0]!);
    const wrt = (stringOption(context, 'wrt') ?? '')
      .split(',')
      .map((n) => n.trim())
      .filter((n) => n.length > 0);
    if (wrt.length === 0) throw new PmgError('invalid-argument', '--wrt needs at least one input name, e.g. --wrt encoder_hidden_states');
    const output = stringOption(context, 'output');
    if (!output) throw new PmgError('invalid-argument', '--output needs the output to differentiate, e.g. --output out_sample');
    const head = stringOption(context, 'head') ?? 'cotangent';
    if (head !== 'cotangent' && head !== 'mse') throw new PmgError('invalid-argument', `--head must be cotangent or mse, got '${head}'`);
    const segmentsText = stringOption(context, 'checkpoint-segments') ?? '1';
    const checkpointSegments = Number(segmentsText);
    if (!/^\d+$/.test(segmentsText) || checkpointSegments < 1)
      throw new PmgError('invalid-argument', `--checkpoint-segments must be a whole number ≥ 1, got '${segmentsText}'`);
    const started = performance.now();
    const session = await openGradientSession(path, { wrt, output, head, checkpointSegments });
    const seconds = (performance.now() - started) / 1000;
    await session.close();
    const { summary } = session;
    if (booleanOption(context, 'json')) {
      context.io.stdout.write(
        `${JSON.stringify({ model: path, wrt, output, head, checkpointSegments, ...summary, loadSeconds: Number(seconds.toFixed(2)) }, null, 2)}\n`,
      );
      return 0;
    }
    const total = Object.values(summary.differentiated).reduce((a, b) => a + b, 0);
    const ops = Object.entries(summary.differentiated)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([op, n]) => `${op} ${n}`)
      .join(', ');
    context.io.stdout.write(
      `${path}: gradient graph for ${wrt.join(', ')} → ${output} (${head} head${checkpointSegments > 1 ? `, ${checkpointSegments} recomputed segments` : ''}) loads in ${seconds.toFixed(1)} s\n` +
        `  differentiated: ${total} nodes (${ops})\n  backward nodes added: ${summary.backwardNodes}; forward nodes kept: ${summary.forwardNodes}\n` +
        `  outputs: ${output}${head === 'mse' ? ', loss' : ''}, ${wrt.map(gradientName).join(', ')}\n`,
    );
    return 0;
  },
};
