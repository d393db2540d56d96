/** An in-memory writable stream: tests pass it where a command or logger would write output. */
import { Writable } from 'node:stream';

export class MemoryStream extends Writable {
  private readonly chunks: string[] = [];
  isTTY = false;

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.chunks.push(chunk.toString());
    callback();
  }

  text(): string {
    return this.chunks.join('');
  }

  /** Each non-empty line parsed as JSON (for structured log output). */
  jsonLines(): Record<string, unknown>[] {
    return this.text()
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}
