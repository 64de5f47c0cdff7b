/**
 * A child process for the job service's restart tests (service/job-restart.test.ts): it opens the service on
 * `argv[2]` (data folder) and `argv[3]` (models folder), runs the small job of `argv[4]` (JSON) to the end, then
 * submits the long job of `argv[5]` (JSON) and waits, printing each job id on stdout, until the test kills it.
 */
import { openJobService } from '../service/job-service.js';

const [dataDir, models, first, second] = process.argv.slice(2);
const service = await openJobService({ dataDir: dataDir!, models: models!, env: { PMG_CACHE_DIR: `${dataDir}-cache` }, offline: true });
const done = service.submit('generation', JSON.parse(first!));
process.stdout.write(`${done.id}\n`);
await service.wait(done.id);
const long = service.submit('generation', JSON.parse(second!));
process.stdout.write(`${long.id}\n`);
await service.wait(long.id);
