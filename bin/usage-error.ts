/** A mistake in how vlmp was invoked (exit code 2), as opposed to a finding in a spec (exit code 1). */
export class UsageError extends Error {}
