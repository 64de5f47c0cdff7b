/** The machine a benchmark ran on, recorded and printed the same way by every `pmg bench`. */
import { arch, cpus, platform, totalmem } from 'node:os';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  platform: string;
  arch: string;
  node: string;
}

export function machineInfo(): MachineInfo {
  const cores = cpus();
  return {
    cpu: cores[0]?.model.trim() ?? 'unknown CPU',
    cores: cores.length,
    memoryGiB: totalmem() / 2 ** 30,
    platform: platform(),
    arch: arch(),
    node: process.version,
  };
}

/** The text after `machine: `, e.g. `AMD EPYC 7B13, 2 cores, 7.8 GiB, linux x64, node v20.19.0`. */
export function formatMachine(machine: MachineInfo): string {
  return `${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB.toFixed(1)} GiB, ${machine.platform} ${machine.arch}, node ${machine.node}`;
}
