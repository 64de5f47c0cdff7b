/**
 * Every `pmg` command, in the order `pmg --help` lists them. Add a command by writing
 * cli/commands/<name>.ts that exports a Command, and listing it here.
 */
import type { Command } from '../command.js';
import { dataSamplesCommand } from './data-samples.js';
import { keywordsCommand } from './keywords.js';
import { modelsListCommand } from './models-list.js';
import { modelsFixturesCommand } from './models-fixtures.js';
import { modelsPullCommand } from './models-pull.js';
import { txt2imgCommand } from './txt2img.js';
import { benchDiffusionCommand } from './bench-diffusion.js';
import { metricsCommand } from './metrics.js';
import { benchMetricsCommand } from './bench-metrics.js';
import { demoCommand } from './demo.js';
import { generateCommand } from './generate.js';
import { benchSearchCommand } from './bench-search.js';
import { evalCommand } from './eval.js';

export const commands: Command[] = [demoCommand, modelsPullCommand, modelsListCommand, modelsFixturesCommand, dataSamplesCommand, keywordsCommand, generateCommand, txt2imgCommand, benchDiffusionCommand, benchSearchCommand, metricsCommand, evalCommand, benchMetricsCommand];
