import { C2CError } from '../../lib/errors';

/** The C2CError a promise rejects with; any other outcome fails the test. */
export async function caught(p: Promise<unknown>): Promise<C2CError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof C2CError) return err;
    throw err;
  }
  throw new Error('expected a C2CError');
}
