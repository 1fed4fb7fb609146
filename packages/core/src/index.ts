export * from './errors';
export * from './logger';
export * from './seeded-rng';
export * from './url-credentials';
