/**
 * pnpm sim --runs N [--seed S] [--members K] [--jobs J] [--trace DIR] [--verbose]
 *
 * Runs seeds S..S+N-1 (S defaults to one taken from the wall clock: the CLI is not the core),
 * prints every failing seed with its violations and a replay command, and ends with the line
 * `sim: R runs, V violations`; exits non-zero on any violation. --jobs spreads the seeds over
 * worker threads; --trace writes each run's per-member JSONL traces and a run.json to DIR/seed-S/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { traceRecords } from './history.js';
import { runSimulation, type RunResult } from './run.js';

interface Options {
  runs: number;
  seed: number;
  members: number;
  jobs: number;
  trace: string | undefined;
  verbose: boolean;
}

/** What a run reports back (workers cannot post closures or the histories cheaply). */
interface Outcome {
  seed: number;
  summary: string;
  violations: { checker: string; message: string }[];
  realMs: number;
}

function usage(message: string): never {
  console.error(`sim: ${message}`);
  console.error('usage: pnpm sim --runs N [--seed S] [--members K] [--jobs J] [--trace DIR] [--verbose]');
  process.exit(2);
}

function parse(argv: readonly string[]): Options {
  const options: Options = {
    runs: 1,
    seed: Date.now() % 2_147_483_648,
    members: 5,
    jobs: 1,
    trace: undefined,
    verbose: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => argv[++i] ?? usage(`${flag} needs a value`);
    const integer = (min: number): number => {
      const text = value();
      const parsed = Number(text);
      if (!Number.isInteger(parsed) || parsed < min) usage(`${flag} must be an integer ≥ ${min}, not ${text}`);
      return parsed;
    };
    if (flag === '--runs') options.runs = integer(1);
    else if (flag === '--seed') options.seed = integer(0);
    else if (flag === '--members') options.members = integer(1);
    else if (flag === '--jobs') options.jobs = integer(1);
    else if (flag === '--trace') options.trace = value();
    else if (flag === '--verbose') options.verbose = true;
    else if (flag === '--') continue;
    else usage(`unknown argument ${flag}`);
  }
  return options;
}

function runOne(seed: number, options: Options): Outcome {
  const started = performance.now();
  const result = runSimulation({ seed, members: options.members });
  const realMs = performance.now() - started;
  if (options.trace !== undefined) writeTrace(options.trace, result);
  const s = result.stats;
  const summary =
    `${s.flavour}/${result.scenario.formation}: ${(s.virtualMs / 1000).toFixed(1)}s virtual, ${s.events} events, ` +
    `${s.incarnations} incarnations, ${s.messagesSent} sent, ${s.deliveries} deliveries, ${s.maxViewId} views, ` +
    `${s.cluster.crashes} crashes, ${s.cluster.partitions} partitions, ${s.cluster.exclusions} exclusions`;
  return { seed, summary, violations: result.violations, realMs };
}

function writeTrace(dir: string, result: RunResult): void {
  const runDir = join(dir, `seed-${result.seed}`);
  mkdirSync(runDir, { recursive: true });
  for (const history of result.histories) {
    const lines = traceRecords(history).map((record) => JSON.stringify(record));
    writeFileSync(join(runDir, `${history.member}.jsonl`), lines.length > 0 ? `${lines.join('\n')}\n` : '');
  }
  const run = {
    seed: result.seed,
    scenario: result.scenario,
    stats: result.stats,
    final: result.final,
    violations: result.violations,
    timeline: result.timeline,
    sent: Object.fromEntries(result.histories.map((h) => [h.member, h.sent])),
    fates: Object.fromEntries(result.histories.map((h) => [h.member, h.fate])),
  };
  writeFileSync(join(runDir, 'run.json'), `${JSON.stringify(run, null, 1)}\n`);
}

function report(outcome: Outcome, options: Options): void {
  if (options.verbose) {
    console.log(`seed ${outcome.seed}: ${outcome.summary} (${outcome.realMs.toFixed(0)}ms real)`);
  }
  if (outcome.violations.length === 0) return;
  console.log(`FAIL seed ${outcome.seed}: ${outcome.violations.length} violations (${outcome.summary})`);
  console.log(`SEED=${outcome.seed}`);
  for (const violation of outcome.violations) console.log(`  [${violation.checker}] ${violation.message}`);
  console.log(`  replay: pnpm sim --runs 1 --seed ${outcome.seed} --members ${options.members}`);
}

async function main(): Promise<void> {
  const options = parse(process.argv.slice(2));
  const last = options.seed + options.runs - 1;
  const jobs = Math.min(options.jobs, options.runs, availableParallelism());
  console.log(`sim: seeds ${options.seed}..${last}, ${options.members} members, ${jobs} job${jobs === 1 ? '' : 's'}`);
  const started = performance.now();
  let runs = 0;
  let violations = 0;
  const failing: number[] = [];
  const record = (outcome: Outcome): void => {
    runs++;
    violations += outcome.violations.length;
    if (outcome.violations.length > 0) failing.push(outcome.seed);
    report(outcome, options);
    if (options.runs >= 500 && runs % 500 === 0) {
      console.error(`sim: ${runs}/${options.runs} runs, ${failing.length} failing, ${((performance.now() - started) / 1000).toFixed(0)}s`);
    }
  };
  if (jobs <= 1) {
    for (let seed = options.seed; seed <= last; seed++) record(runOne(seed, options));
  } else {
    const tsxApi = import.meta.resolve('tsx/esm/api');
    await Promise.all(
      Array.from({ length: jobs }, (_, job) => {
        const seeds: number[] = [];
        for (let seed = options.seed + job; seed <= last; seed += jobs) seeds.push(seed);
        return new Promise<void>((resolve, reject) => {
          // Workers do not inherit the parent's TypeScript loader hooks: register tsx first.
          const bootstrap =
            `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); ` +
            `return import(${JSON.stringify(import.meta.url)}); });`;
          const worker = new Worker(bootstrap, { eval: true, workerData: { seeds, options } });
          worker.on('message', (outcome: Outcome) => record(outcome));
          worker.on('error', reject);
          worker.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exited with ${code}`))));
        });
      }),
    );
  }
  if (failing.length > 0) {
    failing.sort((a, b) => a - b);
    console.log(`failing seeds: ${failing.join(' ')}`);
  }
  console.log(`sim: ${runs} runs, ${violations} violations`);
  process.exitCode = violations > 0 ? 1 : 0;
}

if (isMainThread) {
  await main();
} else {
  const { seeds, options } = workerData as { seeds: number[]; options: Options };
  for (const seed of seeds) parentPort?.postMessage(runOne(seed, options));
}
