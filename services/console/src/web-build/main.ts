import { buildWeb } from './build-web';
import { MAX_GZIPPED_JS_BYTES } from './paths';

void buildWeb(process.argv[2]).then(
  (built) => {
    const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`;
    console.log(
      `console front end: ${built.outDir} (app.js ${kb(built.jsBytes)}, ${kb(built.jsGzippedBytes)} gzipped)`,
    );
    if (built.jsGzippedBytes > MAX_GZIPPED_JS_BYTES) {
      console.error(`console front end: over the ${kb(MAX_GZIPPED_JS_BYTES)} gzipped budget`);
      process.exit(1);
    }
  },
  (error: unknown) => {
    console.error(`console front end: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
