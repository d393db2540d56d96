/** Placeholder behaviour for subcommands that this build does not provide yet: say so, exit 1. */
import { StreamkeeperError } from '../../errors/index.js';

export function notBuilt(command: string): never {
  throw new StreamkeeperError('SK_NOT_BUILT', `\`streamkeeper ${command}\` is not available in this build yet`);
}
