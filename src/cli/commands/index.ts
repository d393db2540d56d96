/**
 * The subcommands, in the order `streamkeeper --help` lists them. Every one is loaded for --help,
 * so a command imports what only its work needs inside `run`: a driver or executor pod starts
 * without loading the controller, the local cluster or the demo — a replacement driver's start-up
 * is part of how long a job's offsets stand still after its driver died.
 */
import type { Command } from '../command.js';
import { demoCommand } from './demo.js';
import { driverCommand } from './driver.js';
import { executorCommand } from './executor.js';
import { localCommand } from './local.js';
import { operatorCommand } from './operator.js';
import { sleepCommand } from './sleep.js';
import { uninstallCommand } from './uninstall.js';
import { versionCommand } from './version.js';

export const commands: readonly Command[] = [operatorCommand, driverCommand, executorCommand, localCommand, demoCommand, uninstallCommand, versionCommand, sleepCommand];
