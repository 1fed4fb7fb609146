export * from './bus';
export * from './subjects';
export * from './topology';
export * from './durable-consumer';
export * from './typed-kv';
export * from './dead-letters';
export * from './read-stream';
export * from './pull-feed';
