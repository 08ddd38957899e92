// Bad input must be refused with one InputError line that starts with the
// name of the file (or thing) at fault.
import { expect } from 'vitest';
import { InputError } from '../../src/errors.ts';

/** Runs `read`, which must reject with such an error; returns its message. */
export async function inputError(read: () => unknown, name: string): Promise<string> {
  let error: unknown;
  try {
    await read();
  } catch (e) {
    error = e;
  }
  expect(error, `${name} should be rejected`).toBeInstanceOf(InputError);
  const message = (error as Error).message;
  expect(message).not.toContain('\n');
  expect(message.startsWith(`${name}: `), message).toBe(true);
  return message;
}
