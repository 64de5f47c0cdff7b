/**
 * Every `pmg` command, in the order `pmg --help` lists them. Add a command by writing
 * cli/commands/<name>.ts that exports a Command, and listing it here.
 */
import type { Command } from '../command.js';

export const commands: Command[] = [];
