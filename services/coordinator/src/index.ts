export * from './coordinator-service';
export * from './coordinator-config';
export * from './coordinator-definition';
export * from './sweep-store';
