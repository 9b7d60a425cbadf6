/**
 * Errors of the `ppp2p` command. Each says in one line when it is thrown. Errors of the layers it runs (daemon,
 * client, build) keep their own classes; `main` (cli.ts) words every error as one line from its class and code.
 */

/** A command line that cannot be run as given (unknown flag, missing value, bad number, unreadable file); `main` prints its message and exits with status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * A layer the command ran failed (a connection, a thread): `cause` is that layer's error, `where` says what failed in
 * words (`the controller at ws://127.0.0.1:7420`) and `flag` the command-line flag that chose it, for the fix.
 */
export class CommandFailure extends Error {
  override name = 'CommandFailure';
  constructor(
    readonly where: string,
    override readonly cause: unknown,
    readonly flag?: string,
  ) {
    super(`${where}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}
