/** The subcommands, in the order `streamkeeper --help` lists them. */
import type { Command } from '../command.js';
import { demoCommand } from './demo.js';
import { driverCommand } from './driver.js';
import { executorCommand } from './executor.js';
import { localCommand } from './local.js';
import { operatorCommand } from './operator.js';
import { sleepCommand } from './sleep.js';
import { versionCommand } from './version.js';

export const commands: readonly Command[] = [operatorCommand, driverCommand, executorCommand, localCommand, demoCommand, versionCommand, sleepCommand];
