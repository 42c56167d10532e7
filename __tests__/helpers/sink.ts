import { Writable } from 'node:stream';

/** A writable stream that keeps what a CLI wrote, for in-process `main(argv, io)` tests. */
export function sink(): { stream: Writable; text(): string } {
  const chunks: string[] = [];
  return {
    stream: new Writable({
      write(chunk: Buffer | string, _encoding, done) {
        chunks.push(chunk.toString());
        done();
      },
    }),
    text: () => chunks.join(''),
  };
}
