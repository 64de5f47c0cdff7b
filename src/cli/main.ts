/**
 * Entry point of the `pmg` command: finds the command, parses its flags, runs it, and turns
 * any error into one line on stderr and an exit code (a stack trace only with --debug).
 */
import { parseArgs } from 'node:util';
import { PmgError, isPmgError } from '../errors/pmg-error.js';
import { packageVersion } from '../core/package-root.js';
import { defaultSessionPool } from '../runtime/onnx-session.js';
import type { Command, CommandIo, OptionSpec } from './command.js';
import { commands } from './commands/index.js';
import { splitCommandLine } from './command-line.js';
import { exitCodes } from './exit-codes.js';
import { optionErrorForCli } from './job-errors.js';

const globalOptions: Record<string, OptionSpec> = {
  help: { type: 'boolean', short: 'h', description: 'show help for pmg or for a command' },
  debug: { type: 'boolean', description: 'show stack traces and extra diagnostics on errors' },
  offline: { type: 'boolean', description: 'never use the network (same as PMG_OFFLINE=1)' },
};

export async function main(argv: string[], io: CommandIo = defaultIo()): Promise<number> {
  const debug = argv.includes('--debug');
  try {
    return await dispatch(argv, io);
  } catch (error) {
    return report(error, io, debug);
  } finally {
    await defaultSessionPool.releaseAll().catch(() => undefined);
  }
}

async function dispatch(argv: string[], io: CommandIo): Promise<number> {
  const line = splitCommandLine(argv, commands, globalOptions);
  const { words, args } = line;
  const helpAsked = args.includes('--help') || args.includes('-h');
  if (words[0] === 'help') {
    const topic = splitCommandLine(args, commands, globalOptions).command;
    io.stdout.write(topic ? commandHelp(topic) : mainHelp());
    return 0;
  }
  if (words.length === 0) {
    if (args.includes('--version') || args.includes('-v')) {
      io.stdout.write(`${packageVersion()}\n`);
      return 0;
    }
    const unknown = args.find((arg) => !isGlobalFlag(arg));
    if (unknown !== undefined && !helpAsked)
      return fail(`unknown option '${unknown}' before the command; run 'pmg --help' to see the commands and global flags`);
    io.stdout.write(mainHelp());
    return 0;
  }
  if (!line.command) {
    const group = commands.filter((c) => c.name.startsWith(`${words[0]} `));
    if (group.length) {
      if (words.length > 1) fail(`unknown command 'pmg ${words.join(' ')}'; see 'pmg ${words[0]} --help'`);
      if (args.some((arg) => !isGlobalFlag(arg))) fail(`'pmg ${words[0]}' needs a subcommand before its flags; see 'pmg ${words[0]} --help'`);
      io.stdout.write(groupHelp(words[0]!, group));
      return 0;
    }
    return fail(`unknown command '${words[0]}'; run 'pmg --help' to see the commands`);
  }
  const command = line.command;
  const options = { ...globalOptions, ...command.options };
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: Object.fromEntries(
        Object.entries(options).map(([name, spec]) => [
          name,
          // Node 20's parseArgs rejects keys that are present but undefined, so only set the ones given.
          {
            type: spec.type,
            ...(spec.short !== undefined ? { short: spec.short } : {}),
            ...(spec.multiple !== undefined ? { multiple: spec.multiple } : {}),
            ...(spec.default !== undefined ? { default: spec.default as never } : {}),
          },
        ]),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new PmgError('invalid-argument', `${describeParseError((error as Error).message)}; see 'pmg ${command.name} --help'`);
  }
  if (parsed.values.help) {
    io.stdout.write(commandHelp(command));
    return 0;
  }
  const spec = command.positionals;
  const count = parsed.positionals.length;
  if (!spec && count > 0) {
    throw new PmgError('invalid-argument', `unexpected argument '${parsed.positionals[0]}' for 'pmg ${command.name}'; see 'pmg ${command.name} --help'`);
  }
  if (spec && (count < (spec.min ?? 0) || count > (spec.max ?? Infinity))) {
    throw new PmgError(
      'invalid-argument',
      `'pmg ${command.name}' takes ${describeCount(spec.min ?? 0, spec.max ?? Infinity)} ${spec.name} argument(s), got ${count}; see 'pmg ${command.name} --help'`,
    );
  }
  const offline = parsed.values.offline === true || isTruthy(io.env.PMG_OFFLINE);
  try {
    const code = await command.run({
      values: parsed.values as Record<string, string | boolean | string[] | boolean[] | undefined>,
      positionals: parsed.positionals,
      io,
      globals: { debug: parsed.values.debug === true, offline },
    });
    return code ?? 0;
  } catch (error) {
    // Errors from below cli/ name options in neutral words; say them as this command's flags.
    throw optionErrorForCli(error, options);
  }
}

/** node:util parseArgs messages, made one line each (a negative value needs `--flag=-1`). */
function describeParseError(message: string): string {
  const ambiguous = /^Option '(--[\w-]+)'[^\n]* argument is ambiguous/.exec(message);
  if (ambiguous) return `${ambiguous[1]} needs a value; to give a value starting with '-', write ${ambiguous[1]}=-VALUE`;
  return message
    .split('\n')[0]!
    .replace(/\. To specify.*$/s, '')
    .replace(/\.$/, '');
}

function fail(message: string): never {
  throw new PmgError('invalid-argument', message);
}

/** --help, --debug, --offline (the flags that are fine with no command or a bare group). */
function isGlobalFlag(arg: string): boolean {
  return arg === '-h' || Object.keys(globalOptions).some((name) => arg === `--${name}`);
}

function report(error: unknown, io: CommandIo, debug: boolean): number {
  if (isPmgError(error)) {
    io.stderr.write(`pmg: ${error.message}\n`);
    if (debug || error.code === 'internal') io.stderr.write(`${error.stack ?? ''}\n${error.cause instanceof Error ? `caused by: ${error.cause.stack}\n` : ''}`);
    return exitCodes[error.code];
  }
  const system = fileSystemError(error);
  if (system) {
    io.stderr.write(`pmg: ${system}\n`);
    if (debug && error instanceof Error) io.stderr.write(`${error.stack ?? ''}\n`);
    return exitCodes['file-system'];
  }
  const message = error instanceof Error ? error.message : String(error);
  io.stderr.write(`pmg: internal error: ${message.split('\n')[0]}\n`);
  io.stderr.write(`${error instanceof Error ? error.stack : ''}\n`);
  io.stderr.write('This is a bug in pmg; please report it with the command you ran.\n');
  return exitCodes.internal;
}

const fileSystemProblems: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EEXIST: 'it already exists',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder, not a file',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on the disk',
  EROFS: 'the file system is read-only',
  ENOTEMPTY: 'the folder is not empty',
};

/** One line for an error the operating system raised about a path the user gave (a file where a folder was wanted, a full disk...). */
export function fileSystemError(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, path, syscall } = error as NodeJS.ErrnoException;
  if (!code || !path || !(code in fileSystemProblems)) return undefined;
  return `cannot ${syscall ?? 'use'} ${path}: ${fileSystemProblems[code]}; check the path and its permissions`;
}

function mainHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`);
  return [
    `pmg ${packageVersion()} — personalized multimodal generation (PMG, arXiv 2404.08677)`,
    '',
    'Usage: pmg <command> [flags]',
    '',
    'Commands:',
    ...lines,
    '',
    'Global flags (before or after the command):',
    ...formatOptions(globalOptions),
    '',
    "Run 'pmg <command> --help' for a command's flags. Flags may come before the command name too:",
    "'pmg --offline demo --tiny' is 'pmg demo --tiny --offline'.",
    '',
  ].join('\n');
}

function groupHelp(group: string, members: Command[]): string {
  const width = Math.max(...members.map((c) => c.name.length)) + 2;
  return [`Usage: pmg ${group} <subcommand> [flags]`, '', 'Subcommands:', ...members.map((c) => `  ${c.name.padEnd(width)}${c.summary}`), ''].join('\n');
}

export function commandHelp(command: Command): string {
  const lines = [`Usage: pmg ${command.name} ${command.usage}`.trimEnd(), '', command.summary, ''];
  if (command.positionals) lines.push('Arguments:', `  ${command.positionals.name.padEnd(24)}${command.positionals.description}`, '');
  const own = formatOptions(command.options);
  if (own.length) lines.push('Flags:', ...own, '');
  lines.push('Global flags (before or after the command):', ...formatOptions(globalOptions), '');
  if (command.details) lines.push(command.details.trimEnd(), '');
  return lines.join('\n');
}

function formatOptions(options: Record<string, OptionSpec>): string[] {
  return Object.entries(options).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.type === 'string' ? ` ${spec.value ?? 'VALUE'}` : ''}`;
    const def = spec.default !== undefined && spec.default !== false ? ` (default: ${String(spec.default)})` : '';
    return `  ${flag.padEnd(28)}${spec.description}${def}`;
  });
}

function describeCount(min: number, max: number): string {
  if (min === max) return String(min);
  if (max === Infinity) return `at least ${min}`;
  return `${min} to ${max}`;
}

function isTruthy(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

function defaultIo(): CommandIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}
