/**
 * The API of one checkout, without workers, listening on PORT: for bench/sse.ts, which needs jobs
 * that stay queued (so their event streams stay open) on the standalone default, PGlite, where
 * `serve --no-workers` is refused. Loads `<root>/src/config.ts` and `<root>/src/runtime.ts`, so
 * the same script serves this checkout's code and another's (the "before" of a comparison).
 * Usage: node --import tsx bench/sse-server.ts <root>
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = process.argv[2] ?? join(import.meta.dirname ?? '.', '..');
const { loadConfig } = await import(pathToFileURL(join(root, 'src/config.ts')).href);
const { createRuntime } = await import(pathToFileURL(join(root, 'src/runtime.ts')).href);
const config = loadConfig(process.env);
const rt = await createRuntime(config, { workers: false });
await rt.app.listen({ port: config.port, host: config.host });
const stop = () => void rt.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
