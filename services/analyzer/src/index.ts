export * from './analyzer-service';
export * from './analyzer-definition';
