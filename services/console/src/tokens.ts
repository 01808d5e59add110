/** Injection token of the console's `ConsoleConfig`. */
export const CONSOLE_CONFIG = Symbol('CONSOLE_CONFIG');
/** Injection token of the apps file (`AppsFile`) the console names apps from. */
export const CONSOLE_APPS = Symbol('CONSOLE_APPS');
