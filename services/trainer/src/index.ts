export * from './trainer-service';
export * from './trainer-definition';
