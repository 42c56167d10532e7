// cdktf records where every token and construct was made: `Error.captureStackTrace` into a plain object, whose
// `stack` it reads at once (cdktf/lib/tokens/private/stack-trace.js). In jest, `Error.prepareStackTrace` is
// source-map-support's, which maps each of those frames through the source maps, parsing cdktf's inline maps first: a
// third of a construct test's CPU. A synth outside jest formats them as V8 does; so do these. Errors (an Error or a
// subclass, from any realm) keep source-map-support's mapped frames, so a failing test still points at its TS lines.
const mapped = Error.prepareStackTrace;

if (mapped) {
  Error.prepareStackTrace = (target: unknown, frames: NodeJS.CallSite[]): unknown => {
    const isPlainObject = typeof target === 'object' && target !== null && Object.getPrototypeOf(target) === Object.prototype;
    return isPlainObject ? `Error${frames.map((f) => `\n    at ${String(f)}`).join('')}` : mapped(target as Error, frames);
  };
}
export {};
