import { Kafka, logLevel } from 'kafkajs';
import type { Logger } from 'pino';

/** One place that builds kafkajs clients: brokers, client id, and kafkajs' own logs routed to pino. */
export function createKafka(clientId: string, brokers: string[], logger?: Logger): Kafka {
  return new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.WARN,
    logCreator: () => (entry) => {
      if (!logger) return;
      const { message, ...extra } = entry.log;
      const fields = { kafkajs: entry.namespace, ...extra };
      if (entry.level <= logLevel.ERROR) logger.error(fields, message);
      else if (entry.level === logLevel.WARN) logger.warn(fields, message);
      else logger.debug(fields, message);
    },
  });
}
