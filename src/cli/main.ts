#!/usr/bin/env node
import { CommanderError } from 'commander';
import { EXIT, UsageError } from './errors.js';
import { buildProgram } from './program.js';

async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    // Expected problems get one clear line; anything else is a bug, still without a stack trace.
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`meshwarden: ${error instanceof UsageError ? '' : 'error: '}${message}\n`);
    process.exitCode = EXIT.usage;
  }
}

await main(process.argv);
