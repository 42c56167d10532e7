export * from './message';
export * from './plan';
export * from './stand-in';
export * from './remind';
