/** Optimal tour lengths of the bundled instances, from TSPLIB's solutions file. */
export const KNOWN_OPTIMA: Readonly<Record<string, number>> = { eil51: 426, berlin52: 7542, kroA100: 21282 };
