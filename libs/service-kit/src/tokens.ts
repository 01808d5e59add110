/**
 * Nest injection tokens of the kit, for what has no class of its own. The database and the metrics registry are injected
 * by their classes, `DataSource` (typeorm) and `Registry` (prom-client).
 */
export const SERVICE_CONFIG = Symbol('SERVICE_CONFIG');
/** The process's pino logger (redacting), for code that is not a Nest logger user: the Kafka runner. */
export const PINO_LOGGER = Symbol('PINO_LOGGER');
