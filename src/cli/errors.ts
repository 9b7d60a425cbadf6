/**
 * Errors of the `ppp2p` command. Each says in one line when it is thrown. Errors of the layers it runs (daemon,
 * client, build) keep their own classes and are reported by `main` as they are.
 */

/** A command line that cannot be run as given (unknown flag, missing value, bad number, unreadable file); `main` prints its message and exits with status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
