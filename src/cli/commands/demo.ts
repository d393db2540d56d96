/** `streamkeeper demo`: a guided end-to-end run on the local cluster. */
import type { Command } from '../command.js';
import { notBuilt } from './not-built.js';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run the guided end-to-end demo on a local cluster',
  usage: '[--keep]',
  flagHelp: [['--keep', 'leave the local cluster running afterwards']],
  options: { keep: { type: 'boolean' } },
  run() {
    return notBuilt('demo');
  },
};
