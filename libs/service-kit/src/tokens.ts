/** Nest injection tokens of the kit. */
export const SERVICE_CONFIG = Symbol('SERVICE_CONFIG');
export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');
export const DATA_SOURCE = Symbol('DATA_SOURCE');
