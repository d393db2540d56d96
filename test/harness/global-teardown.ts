/** Stops every server the global setup started, whether the tests passed or not. */
import { harnessState } from './state.js';

export default async function globalTeardown(): Promise<void> {
  await harnessState.stopAll();
}
