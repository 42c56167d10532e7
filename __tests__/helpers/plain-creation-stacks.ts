// cdktf records where every token and construct was made: `Error.captureStackTrace` into a plain object, whose
// `stack` it reads at once (cdktf/lib/tokens/private/stack-trace.js). In jest, `Error.prepareStackTrace` is
// source-map-support's, which maps each of those frames through the source maps, parsing cdktf's inline maps first: a
// third to a half of a construct test's CPU. Here they are formatted as plain V8 frames (the synth of main.ts skips
// them: withLightTokenTraces in constructs/settings.ts). Errors (an Error or a subclass) keep source-map-support's
// mapped frames, so a failing test still points at its TypeScript lines.
const mapped = Error.prepareStackTrace;

if (mapped) {
  Error.prepareStackTrace = (target: unknown, frames: NodeJS.CallSite[]): unknown => {
    const isPlainObject = typeof target === 'object' && target !== null && Object.getPrototypeOf(target) === Object.prototype;
    return isPlainObject ? `Error${frames.map((f) => `\n    at ${String(f)}`).join('')}` : mapped(target as Error, frames);
  };
}
export {};
