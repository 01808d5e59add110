/** Nest injection tokens of the kit. */
export const SERVICE_CONFIG = Symbol('SERVICE_CONFIG');
export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');
export const DATA_SOURCE = Symbol('DATA_SOURCE');
/** The process's pino logger (redacting), for code that is not a Nest logger user: the Kafka runner. */
export const PINO_LOGGER = Symbol('PINO_LOGGER');
