// The replay CLI for analysts (DESIGN §7, tools/eventlog/README.md):
//   npm run eventlog -- export [--topic T…] [--from TIME] [--to TIME] [--user U] [--format csv] [--out FILE]
//   npm run eventlog -- as-of 2026-12-01T12:00:00Z --workspace W --user U [--json]
//   npm run eventlog -- rebuild <service> [--pid PID…] [--start]
//   npm run eventlog -- verify <service>
// Kafka and the databases come from the environment, as the services read them (KAFKA_BROKERS, KAFKA_TOPIC_PREFIX,
// DATABASE_URL); each command's --help lists its options.
import { Command, CommanderError, Option } from 'commander';
import { ALL_EVENT_TOPICS, RECORDS_BY_TOPIC, TopicName } from '@push/contracts';
import { EXIT, UsageError, parseNonNegative, parseTime } from './cli/cli-errors';
import type { EventFilter } from './export/filters';
import { parseDeviceRef } from './export/filters';

const SERVICES = ['token-registry', 'subscription-state', 'segmentation', 'dispatcher', 'bounce-processor'] as const;

/** The broker and topic prefix, from the options or else the environment the services read. */
function kafkaOf(options: { brokers?: string; topicPrefix?: string }): { brokers: string[]; topicPrefix: string } {
  const brokers = (options.brokers ?? process.env.KAFKA_BROKERS ?? '127.0.0.1:9092')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  return { brokers, topicPrefix: options.topicPrefix ?? process.env.KAFKA_TOPIC_PREFIX ?? '' };
}

const brokersOption = () =>
  new Option('--brokers <host:port,…>', 'Kafka brokers (default: KAFKA_BROKERS, else 127.0.0.1:9092)');
const prefixOption = () =>
  new Option('--topic-prefix <prefix>', 'KAFKA_TOPIC_PREFIX of the deployment (default: the environment, else none)');

const program = new Command('eventlog')
  .description('The event log for analysts: export it, rebuild and verify read models, ask what was true at a time.')
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(text) });

program
  .command('export')
  .description(
    'write events of the log as NDJSON or CSV (topic, partition, offset, key, timestamp and the decoded event), from the start (or --from) to the log end captured at the start (or --to), optionally filtered',
  )
  .addOption(new Option('--topic <topics...>', 'contract topics (default: all of them)').choices([...ALL_EVENT_TOPICS]))
  .option('--from <time>', 'first Kafka timestamp to export (ISO-8601 or epoch ms)')
  .option('--to <time>', 'last Kafka timestamp to export, inclusive (ISO-8601 or epoch ms)')
  .option('--partition <numbers...>', 'only these partitions')
  .option('--from-offset <offset>', 'first offset of each partition read')
  .option('--to-offset <offset>', 'last offset of each partition read, inclusive')
  .option('--workspace <id>', 'only events of this workspace')
  .option('--user <id>', 'only events naming this user (user_id, previous_user_id, a user audience)')
  .option('--device <app:device>', 'only events of this device (app_id:device_id, or device_id for any app)')
  .option('--type <records...>', 'only these record types (TokenRegistered, PushBounced, …)')
  .addOption(new Option('--format <format>', 'output format').choices(['ndjson', 'csv']).default('ndjson'))
  .option('--out <file>', 'write to this file (default: stdout)')
  .option('--follow', 'after the log end, go on with new events until interrupted')
  .option('--no-progress', 'no progress bar (there is none anyway when stderr is not a terminal)')
  .addOption(brokersOption())
  .addOption(prefixOption())
  .action(async (o) => {
    const topics: TopicName[] = o.topic ?? [...ALL_EVENT_TOPICS];
    const known = new Set(topics.flatMap((t) => RECORDS_BY_TOPIC[t] as readonly string[]));
    const types: string[] | undefined = o.type;
    const unknown = types?.filter((t) => !known.has(t));
    if (unknown?.length)
      throw new UsageError(
        `--type: ${unknown.join(', ')} is not a record of ${topics.join(', ')} (known: ${[...known].sort().join(', ')})`,
      );
    const filter: EventFilter = {
      workspace: o.workspace,
      user: o.user,
      device: o.device === undefined ? undefined : usage(() => parseDeviceRef(o.device), '--device'),
      types: types ? new Set(types) : undefined,
    };
    const selection = {
      topics,
      partitions: o.partition?.map((p: string) => Number(parseNonNegative(p, '--partition'))),
      fromOffset: o.fromOffset === undefined ? undefined : parseNonNegative(o.fromOffset, '--from-offset'),
      toOffset: o.toOffset === undefined ? undefined : parseNonNegative(o.toOffset, '--to-offset'),
      fromTime: o.from === undefined ? undefined : parseTime(o.from, '--from'),
      toTime: o.to === undefined ? undefined : parseTime(o.to, '--to'),
      follow: Boolean(o.follow),
    };
    if (selection.fromTime !== undefined && selection.toTime !== undefined && selection.fromTime > selection.toTime)
      throw new UsageError('--from is after --to');
    const { exportLog } = await import('./export/export');
    const summary = await exportLog({
      ...kafkaOf(o),
      selection,
      filter,
      format: o.format,
      out: o.out,
      progress: o.progress !== false && Boolean(process.stderr.isTTY),
      onReader: (reader) => {
        process.once('SIGINT', () => reader.stop());
        process.once('SIGTERM', () => reader.stop());
      },
    });
    process.stderr.write(
      `eventlog: ${summary.written} events written${o.out ? ` to ${o.out}` : ''} (${summary.scanned} messages read)\n`,
    );
    if (summary.undecodable.length > 0) {
      process.stderr.write(
        `eventlog: ${summary.undecodable.length} message(s) could not be decoded; they are in the output with their error:\n`,
      );
      for (const u of summary.undecodable.slice(0, 20))
        process.stderr.write(`  ${u.topic} partition ${u.partition} offset ${u.offset}: ${u.code} ${u.message}\n`);
      process.exitCode = EXIT.UNDECODABLE;
    }
  });

program
  .command('as-of')
  .description(
    "the state of a user or a device at a time, from the owners' published records, and the events that made it so: why is this user (not) reachable?",
  )
  .argument('<time>', 'ISO-8601 or epoch ms; records that happened (occurred_at) by then count')
  .requiredOption('--workspace <id>', 'the workspace of the user or device')
  .option('--user <id>', 'the user')
  .option('--device <app:device>', 'the device (app_id:device_id)')
  .option('--json', 'the answer as JSON (state, sentences and events)')
  .addOption(brokersOption())
  .addOption(prefixOption())
  .action(async (timeText: string, o) => {
    const at = parseTime(timeText, '<time>');
    if ((o.user === undefined) === (o.device === undefined))
      throw new UsageError('give exactly one of --user <id> and --device <app_id:device_id>');
    let subject;
    if (o.user !== undefined) subject = { kind: 'user' as const, workspace_id: o.workspace, user_id: o.user };
    else {
      const ref = usage(() => parseDeviceRef(o.device), '--device');
      if (ref.app_id === null) throw new UsageError('--device: expected app_id:device_id');
      subject = { kind: 'device' as const, workspace_id: o.workspace, app_id: ref.app_id, device_id: ref.device_id };
    }
    const { asOf } = await import('./as-of/as-of');
    const { asOfJson, renderText } = await import('./as-of/explain');
    const result = await asOf({ ...kafkaOf(o), subject, asOf: at });
    process.stdout.write(o.json ? `${JSON.stringify(asOfJson(result.state), null, 2)}\n` : renderText(result.state));
    if (result.undecodable.length > 0)
      process.stderr.write(
        `eventlog: ${result.undecodable.length} message(s) of this ${subject.kind} could not be decoded and are left out: ${result.undecodable
          .slice(0, 5)
          .map((u) => `${u.topic} ${u.partition}@${u.offset} ${u.code}`)
          .join(', ')}\n`,
      );
  });

/** The service's own configuration (DATABASE_URL, KAFKA_BROKERS, KAFKA_TOPIC_PREFIX), as the service reads it. */
async function serviceTarget(service: string, o: { serviceMain?: string; nodeArgs?: string; timeout?: string }) {
  const { loadConfig } = await import('@push/service-kit');
  const config = loadConfig(service as (typeof SERVICES)[number]);
  return {
    service,
    main: o.serviceMain,
    nodeArgs: o.nodeArgs === undefined ? undefined : o.nodeArgs.split(/\s+/).filter(Boolean),
    databaseUrl: config.databaseUrl,
    kafkaBrokers: config.kafkaBrokers,
    topicPrefix: config.topicPrefix,
    timeoutMs: o.timeout === undefined ? undefined : Number(parseNonNegative(o.timeout, '--timeout')) * 1000,
    say: (line: string) => process.stderr.write(`${line}\n`),
  };
}

const serviceArgument = (command: Command) =>
  command
    .argument(
      '<service>',
      `one of ${SERVICES.join(', ')} (its DATABASE_URL, KAFKA_BROKERS and KAFKA_TOPIC_PREFIX are read from the environment)`,
    )
    .option(
      '--service-main <file>',
      'the built service (default: dist/services/<service>/src/main.js, from npm run build)',
    )
    .option('--node-args <flags>', "the service's Node flags (default: deploy/service-node-options)")
    .option(
      '--timeout <seconds>',
      'longest wait for the replay to catch up, or for the live service to stop (default 1800)',
    )
    .option('--json', 'the result as JSON on stdout');

const checkService = (service: string) => {
  if (!(SERVICES as readonly string[]).includes(service))
    throw new UsageError(`<service>: expected one of ${SERVICES.join(', ')}, got ${JSON.stringify(service)}`);
};

serviceArgument(
  program
    .command('rebuild')
    .description(
      "replay the service's topics from the beginning into a fresh database (its own code in replay mode: nothing published), then switch the service to it: stop it, let the rebuild reach exactly its offsets, rename the databases, start it. Events published meanwhile are applied after the switch; none is lost or published twice",
    ),
)
  .option(
    '--pid <pids...>',
    'the live service processes to stop (SIGTERM) at the switch; without, the CLI waits until they are stopped',
  )
  .option('--start', 'start the service on the rebuilt read model after the switch (detached; log: --log)')
  .option('--log <file>', 'log file of the started service (default .data/logs/<service>.log)')
  .option('--drop-old', 'drop the previous read model after the switch (default: kept as <name>_before_rebuild_<time>)')
  .action(async (service: string, o) => {
    checkService(service);
    const pids = (o.pid ?? []).map((p: string) => Number(parseNonNegative(p, '--pid')));
    const { rebuild } = await import('./rebuild/rebuild');
    const summary = await rebuild({
      ...(await serviceTarget(service, o)),
      pids,
      start: Boolean(o.start),
      logFile: o.log,
      dropOld: Boolean(o.dropOld),
    });
    process.stdout.write(
      o.json
        ? `${JSON.stringify(summary)}\n`
        : `rebuilt ${service}: "${summary.database}" applied ${summary.applied} messages; ${summary.outboxCopied} unpublished output(s) carried over${summary.previousDatabase ? `; previous read model kept as "${summary.previousDatabase}"` : ''}${summary.startedPid ? `; started (pid ${summary.startedPid})` : ''}\n`,
    );
  });

serviceArgument(
  program
    .command('verify')
    .description(
      "rebuild the read model aside into a scratch database up to the live read model's offsets (one snapshot of it), compare them table by table and row by row (not the event bus's tables, not serial columns), report the differences (0 expected), drop the scratch database",
    ),
)
  .option('--ignore-table <tables...>', 'leave these tables out of the comparison too')
  .action(async (service: string, o) => {
    checkService(service);
    const { verify, renderVerify } = await import('./rebuild/verify');
    const report = await verify({ ...(await serviceTarget(service, o)), ignoreTables: o.ignoreTable ?? [] });
    process.stdout.write(o.json ? `${JSON.stringify(report)}\n` : renderVerify(report));
    if (report.differences > 0) process.exitCode = EXIT.DIFFERENCES;
  });

/** Runs a parser whose error is the user's (a malformed value): a usage error naming the option. */
function usage<T>(parse: () => T, option: string): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError(`${option}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) {
    // --help and --version end here too, with exit code 0.
    process.exit(error.exitCode === 0 ? EXIT.OK : EXIT.USAGE);
  }
  const usageError = error instanceof UsageError;
  process.stderr.write(`eventlog: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(usageError ? EXIT.USAGE : EXIT.FAILED);
});
