/** Blue/green and canary releases through marathon-lb: its label contract, its stats, and the steps that use them. */
export * from './labels';
export * from './schedule';
export * from './haproxy-stats';
export * from './lb';
export * from './state';
export * from './run';
