import 'reflect-metadata';
import { ConfigError } from '@push/service-kit';
import { loadConsoleConfig } from './config';
import { runConsole } from './console-app';

try {
  void runConsole(loadConsoleConfig()).catch((error: unknown) => {
    console.error(`console: could not start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`console: ${error.message}`);
  process.exit(1);
}
