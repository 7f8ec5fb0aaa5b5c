/** Exit codes (CONTRACT §6): 0 all allowed / valid, 1 denied / invalid, 2 usage or unreadable input. */
export const EXIT = { ok: 0, denied: 1, usage: 2 } as const;

/** A problem with the command line or its input files: reported in one line, exit 2. */
export class UsageError extends Error {}
