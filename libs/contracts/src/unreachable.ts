/**
 * The `default` of a switch over a union that handles every member: `default: return unreachable(value)`. TypeScript
 * rejects the call as soon as a member is left unhandled (the value is then not `never`); at run time (data that
 * escaped the types) it throws, naming the value.
 */
export function unreachable(value: never): never {
  throw new Error(`unhandled case ${JSON.stringify(value)}`);
}
