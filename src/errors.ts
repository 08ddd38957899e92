// Errors a user can act on: main.ts prints their one-line message and exits
// with their code, without a stack trace.

/** Bad command line: unknown option, missing or malformed value. Exit code 2. */
export class UsageError extends Error {
  readonly exitCode = 2;
}

/** Bad input: missing or corrupt file, wrong shape, NaN pixels. Exit code 1. */
export class InputError extends Error {
  readonly exitCode = 1;
}
