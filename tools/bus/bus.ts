// The operator's tool for a read model whose log changed under it (libs/event-bus README, "A log the read model was
// not built from"). Reads the service's configuration from the environment, like the service itself.
//   npm run bus -- status --service token-registry
//   npm run bus -- accept-log --service token-registry [--topic T --partition P]
//   npm run bus -- rebuild --service token-registry --yes
import 'reflect-metadata';
import { Command, Option } from 'commander';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { acceptLogFromStart, assessPartition, createKafka, storedOffsets } from '@push/event-bus';
import { SERVICE_PORTS, ServiceName, loadConfig } from '@push/service-kit';

const serviceOption = () =>
  new Option('--service <name>', 'the service whose read model it is')
    .choices(Object.keys(SERVICE_PORTS))
    .makeOptionMandatory();

async function withDatabase<R>(url: string, work: (db: DataSource) => Promise<R>): Promise<R> {
  const db = await new DataSource({ type: 'postgres', url }).initialize();
  try {
    return await work(db);
  } finally {
    await db.destroy();
  }
}

const program = new Command('bus').description(
  'Stored Kafka positions of a service read model: compare with the log, accept a new log, rebuild.',
);

program
  .command('status')
  .description(
    'each stored partition: its offset, the log start and end now, and whether the service may consume it (the message check runs in the service)',
  )
  .addOption(serviceOption())
  .action(async ({ service }: { service: ServiceName }) => {
    const config = loadConfig(service);
    const rows = await withDatabase(config.databaseUrl, storedOffsets);
    const admin = createKafka('bus-cli', config.kafkaBrokers).admin();
    await admin.connect();
    try {
      const { clusterId } = await admin.describeCluster();
      const lines = [];
      for (const row of rows) {
        const physical = config.topicPrefix + row.topic;
        const log = (await admin.fetchTopicOffsets(physical).catch(() => [])).find(
          (p) => p.partition === row.partition,
        );
        const verdict = !log
          ? 'refuse: the topic or partition does not exist on this cluster'
          : ((a) =>
              a.kind === 'refuse'
                ? `refuse: ${a.message}`
                : 'offsets fit (the service also checks the last applied message)')(
              assessPartition(
                {
                  nextOffset: row.nextOffset,
                  clusterId: row.clusterId,
                  lastOffset: null,
                  lastTimestamp: null,
                  lastDigest: null,
                },
                { clusterId, logStartOffset: log.low, logEndOffset: log.high },
              ),
            );
        lines.push({
          group: row.groupId,
          topic: physical,
          partition: row.partition,
          stored: row.nextOffset,
          logStart: log?.low ?? null,
          logEnd: log?.high ?? null,
          verdict,
        });
      }
      console.table(lines);
    } finally {
      await admin.disconnect();
    }
  });

program
  .command('accept-log')
  .description(
    'forget the stored positions, so that the service consumes the log it finds from its start, on top of the read model as it is',
  )
  .addOption(serviceOption())
  .option('--group <id>', 'one consumer group (default: every group of the service)')
  .option('--topic <name>', 'one contract topic (without KAFKA_TOPIC_PREFIX)')
  .option('--partition <n>', 'one partition of --topic', (v) => Number.parseInt(v, 10))
  .action(
    async ({
      service,
      group,
      topic,
      partition,
    }: {
      service: ServiceName;
      group?: string;
      topic?: string;
      partition?: number;
    }) => {
      if ((partition === undefined) !== (topic === undefined)) throw new Error('--topic and --partition go together');
      const config = loadConfig(service);
      const removed = await withDatabase(config.databaseUrl, async (db) => {
        const groups = group ? [group] : [...new Set((await storedOffsets(db)).map((r) => r.groupId))];
        let count = 0;
        for (const g of groups)
          count += await acceptLogFromStart(
            db,
            g,
            topic === undefined ? undefined : [{ topic, partition: partition as number }],
          );
        return count;
      });
      console.log(
        `${removed} stored position(s) forgotten; ${service} consumes those partitions from the log start (a running service within seconds).`,
      );
    },
  );

program
  .command('rebuild')
  .description(
    "drop and recreate the service's database: at its next start it migrates and re-reads every topic from the start",
  )
  .addOption(serviceOption())
  .option('--yes', 'really drop the database')
  .action(async ({ service, yes }: { service: ServiceName; yes?: boolean }) => {
    const config = loadConfig(service);
    const url = new URL(config.databaseUrl);
    const name = decodeURIComponent(url.pathname.slice(1));
    if (!yes) throw new Error(`this drops the database "${name}" of ${service}; stop the service first and pass --yes`);
    url.pathname = '/postgres';
    const client = new Client({ connectionString: url.toString() });
    await client.connect();
    try {
      const { rows } = await client.query('select count(*)::int as n from pg_stat_activity where datname = $1', [name]);
      if (rows[0].n > 0)
        throw new Error(`${rows[0].n} connection(s) to "${name}" are open: stop ${service} (every replica) first`);
      const quoted = `"${name.replace(/"/g, '""')}"`;
      await client.query(`drop database if exists ${quoted}`);
      await client.query(`create database ${quoted}`);
    } finally {
      await client.end();
    }
    console.log(
      `database "${name}" recreated empty; start ${service}: it rebuilds its read model from the start of its topics.`,
    );
  });

program.parseAsync().catch((error: unknown) => {
  console.error(`bus: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
