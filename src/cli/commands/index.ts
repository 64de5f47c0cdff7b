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
import { modelsPrepareSoftCommand } from './models-prepare-soft.js';
import { modelsGradCheckCommand } from './models-grad-check.js';
import { txt2imgCommand } from './txt2img.js';
import { metricsCommand } from './metrics.js';
import { demoCommand } from './demo.js';
import { generateCommand } from './generate.js';
import { serveCommand } from './serve.js';
import { evalCommand } from './eval.js';
import { benchAllCommand, benchCommands } from './bench-all.js';
import { softInitCommand } from './soft-init.js';
import { softImportCommand } from './soft-import.js';
import { softTrainCommand } from './soft-train.js';
import { workerCommand } from './worker.js';
import { recPlanCommand } from './rec-plan.js';
import { recCommand } from './rec.js';

export const commands: Command[] = [
  demoCommand,
  generateCommand,
  serveCommand,
  workerCommand,
  keywordsCommand,
  txt2imgCommand,
  modelsPullCommand,
  modelsListCommand,
  modelsFixturesCommand,
  modelsPrepareSoftCommand,
  modelsGradCheckCommand,
  softInitCommand,
  softImportCommand,
  softTrainCommand,
  dataSamplesCommand,
  metricsCommand,
  evalCommand,
  recCommand,
  recPlanCommand,
  benchAllCommand,
  ...benchCommands,
];
